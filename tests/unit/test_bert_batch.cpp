// BertModel::embed_batch (sentences stacked as the rows of shared forwards) against embed_tokens
// one sentence at a time, on all-MiniLM-L6-v2: the same floats, however the batch is cut.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/bert.h"

#include "gguf_vocab_for_tests.h"

namespace webaccel {
namespace {

class MiniLmBatch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = testing::models_dir() + "/minilm";
    if (std::filesystem::exists(dir + "/model.safetensors")) model_ = std::make_unique<BertModel>(dir);
  }
  static void TearDownTestSuite() { model_.reset(); }
  void SetUp() override {
    if (!model_) GTEST_SKIP() << "minilm/model.safetensors not found under " << testing::models_dir();
  }
  static std::unique_ptr<BertModel> model_;
};
std::unique_ptr<BertModel> MiniLmBatch::model_;

TEST_F(MiniLmBatch, EqualsOneSentenceAtATime) {
  const std::vector<std::string> texts = {
      "The cat sits on the mat while the rain falls outside.",
      "Hi",
      "Investors sold shares as prices dropped sharply in the morning session, and the central bank said "
      "nothing about rates, which left traders guessing about the next move until the afternoon.",
      "A kitten rests on a warm rug near the fireplace.",
      "Short one.",
      "The committee will publish its final report on renewable energy next spring."};
  ThreadPool pool(2);
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> one_by_one;
  for (const auto& t : texts) {
    ids.push_back(model_->tokenizer().encode(t, model_->config().max_seq_length));
    one_by_one.push_back(model_->embed_tokens(ids.back(), pool));
  }
  ASSERT_GT(ids[2].size(), 30u);
  // One forward for all; forwards of at most 30 tokens (the long sentence alone, the others in
  // twos and threes); one sentence a forward.
  for (size_t max_tokens : {BertModel::kBatchTokens, size_t{30}, size_t{1}}) {
    const auto batch = model_->embed_batch(ids, pool, max_tokens);
    ASSERT_EQ(batch.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], one_by_one[i]) << "text " << i << ", max_tokens " << max_tokens;
  }
  ThreadPool single(1);
  const auto batch1 = model_->embed_batch(ids, single);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch1[i], one_by_one[i]) << "text " << i << ", 1 thread";
}

TEST_F(MiniLmBatch, RejectsBadSentences) {
  ThreadPool pool(1);
  const std::vector<std::vector<int32_t>> empty_one = {{101, 102}, {}};
  EXPECT_THROW(model_->embed_batch(empty_one, pool), Error);
  const std::vector<std::vector<int32_t>> bad_id = {{101, 102}, {101, -5, 102}};
  EXPECT_THROW(model_->embed_batch(bad_id, pool), Error);
  const std::vector<std::vector<int32_t>> too_long = {std::vector<int32_t>(model_->config().n_positions + 1, 101)};
  EXPECT_THROW(model_->embed_batch(too_long, pool), Error);
  EXPECT_TRUE(model_->embed_batch({}, pool).empty());
}

}  // namespace
}  // namespace webaccel
