// Chat formatting for GGUF models. SmolLM2-Instruct uses ChatML; its Jinja template is not
// interpreted (no Jinja engine in the core): we recognise ChatML and reproduce its output.
#pragma once

#include <optional>
#include <string>

namespace webaccel {

struct ChatFormat {
  std::string system_prompt;  // the template's default system message, if it has one
  std::string end_of_turn;    // e.g. "<|im_end|>"
  std::string format_user_turn(const std::string& user_message) const;
};

// nullopt if the template is absent or not a form we implement.
std::optional<ChatFormat> chat_format_from_template(const std::string& jinja_template);

}  // namespace webaccel
