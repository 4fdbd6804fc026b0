#include "runtime/chat_template.h"

namespace webaccel {

std::string ChatFormat::format_user_turn(const std::string& user_message) const {
  std::string out;
  if (!system_prompt.empty()) out += "<|im_start|>system\n" + system_prompt + "<|im_end|>\n";
  out += "<|im_start|>user\n" + user_message + "<|im_end|>\n<|im_start|>assistant\n";
  return out;
}

std::optional<ChatFormat> chat_format_from_template(const std::string& tmpl) {
  if (tmpl.find("<|im_start|>") == std::string::npos) return std::nullopt;
  ChatFormat f;
  f.end_of_turn = "<|im_end|>";
  // The default system message is the literal the template emits when the chat has none.
  const std::string open = "<|im_start|>system\n";
  if (auto a = tmpl.find(open); a != std::string::npos) {
    const auto begin = a + open.size();
    const auto end = tmpl.find("<|im_end|>", begin);
    if (end != std::string::npos) {
      std::string sys = tmpl.substr(begin, end - begin);
      if (sys.find("{{") == std::string::npos && sys.find("{%") == std::string::npos) f.system_prompt = sys;
    }
  }
  return f;
}

}  // namespace webaccel
