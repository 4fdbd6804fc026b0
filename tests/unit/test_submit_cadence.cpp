// The decode step's submit cadence: each candidate timed, the fastest median kept.
#include <gtest/gtest.h>

#include "gpu/submit_cadence.h"

using webaccel::gpu::SubmitCadenceTuner;

TEST(SubmitCadence, KeepsTheFastestMedian) {
  SubmitCadenceTuner t({4, 0, 2, 8}, 3);
  // Per candidate, three steps (ms): 4 -> median 6.1, 0 -> 7.5, 2 -> 5.9 (one outlier), 8 -> 6.4.
  const double times[4][3] = {{6.0, 6.1, 6.3}, {7.5, 7.4, 7.6}, {5.8, 40.0, 5.9}, {6.4, 6.5, 6.3}};
  const uint32_t order[4] = {4, 0, 2, 8};
  for (int c = 0; c < 4; c++) {
    for (double ms : times[c]) {
      EXPECT_TRUE(t.tuning());
      EXPECT_EQ(t.cadence(), order[c]);
      t.record(ms);
    }
  }
  EXPECT_FALSE(t.tuning());
  EXPECT_EQ(t.cadence(), 2u);
  t.record(1.0);  // after the choice, more steps change nothing
  EXPECT_EQ(t.cadence(), 2u);
}

TEST(SubmitCadence, DefaultUntilMeasuredAndUnmatchedFinishIgnored) {
  SubmitCadenceTuner t({4, 0}, 2);
  EXPECT_EQ(t.cadence(), 4u);
  t.step_finished();  // no step started: nothing recorded
  EXPECT_EQ(t.cadence(), 4u);
  t.step_started();
  t.step_finished();
  t.step_started();
  t.step_finished();
  EXPECT_EQ(t.cadence(), 0u);  // the second candidate's turn
}

TEST(SubmitCadence, OneCandidateIsFixed) {
  SubmitCadenceTuner t({0}, 3);
  EXPECT_FALSE(t.tuning());
  EXPECT_EQ(t.cadence(), 0u);
}
