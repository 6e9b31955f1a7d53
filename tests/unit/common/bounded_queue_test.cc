#include "common/bounded_queue.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace eroom {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(BoundedQueueTest, TryPushRefusesWhenFull) {
  BoundedQueue<int> queue(2);
  EXPECT_TRUE(queue.TryPush(1));
  EXPECT_TRUE(queue.TryPush(2));
  EXPECT_FALSE(queue.TryPush(3));
  EXPECT_THAT(queue.PopBatch(10, absl::ZeroDuration()), ElementsAre(1, 2));
}

TEST(BoundedQueueTest, PushDropOldestEvictsAndCounts) {
  BoundedQueue<int> queue(2);
  EXPECT_EQ(queue.PushDropOldest(1), 0u);
  EXPECT_EQ(queue.PushDropOldest(2), 0u);
  EXPECT_EQ(queue.PushDropOldest(3), 1u);
  EXPECT_THAT(queue.PopBatch(10, absl::ZeroDuration()), ElementsAre(2, 3));
}

TEST(BoundedQueueTest, PopBatchTakesAtMostMax) {
  BoundedQueue<int> queue(10);
  for (int i = 0; i < 5; ++i) queue.TryPush(i);
  EXPECT_THAT(queue.PopBatch(3, absl::ZeroDuration()), ElementsAre(0, 1, 2));
  EXPECT_EQ(queue.size(), 2u);
}

TEST(BoundedQueueTest, CloseWakesWaitersAndDrains) {
  BoundedQueue<int> queue(10);
  queue.TryPush(1);
  queue.Close();
  EXPECT_FALSE(queue.TryPush(2));
  EXPECT_THAT(queue.PopBatch(10, absl::InfiniteDuration()), ElementsAre(1));
  // Closed and empty: returns at once instead of waiting forever.
  EXPECT_THAT(queue.PopBatch(10, absl::InfiniteDuration()), IsEmpty());
}

TEST(BoundedQueueTest, AwaitSizeReturnsOnceEnoughAreQueuedOrClosed) {
  BoundedQueue<int> queue(10);
  std::thread producer([&] {
    queue.TryPush(1);
    queue.TryPush(2);
  });
  queue.AwaitSize(2, absl::InfiniteDuration());
  EXPECT_EQ(queue.size(), 2u);  // Before the join: AwaitSize waited.
  producer.join();
  queue.Close();
  queue.AwaitSize(5, absl::InfiniteDuration());  // Returns: closed.
  EXPECT_EQ(queue.size(), 2u);
}

// How long a push that should be waiting is watched for going through: a
// queue that waits passes however long this is, one that lets the push
// through fails.
constexpr absl::Duration kWatchForAPushGoingThrough = absl::Milliseconds(20);

TEST(BoundedQueueTest, PushWhenRoomWaitsForAPopAndFailsOnceClosed) {
  BoundedQueue<int> queue(1);
  ASSERT_TRUE(queue.TryPush(1));
  absl::Notification pushed;
  std::thread producer([&] {
    EXPECT_TRUE(queue.PushWhenRoom(2));
    pushed.Notify();
  });
  EXPECT_FALSE(
      pushed.WaitForNotificationWithTimeout(kWatchForAPushGoingThrough));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_THAT(queue.PopBatch(1, absl::InfiniteDuration()), ElementsAre(1));
  EXPECT_THAT(queue.PopBatch(1, absl::InfiniteDuration()), ElementsAre(2));
  producer.join();

  ASSERT_TRUE(queue.TryPush(3));
  absl::Notification refused;
  std::thread blocked([&] {
    EXPECT_FALSE(queue.PushWhenRoom(4));  // Full: waits until closed.
    refused.Notify();
  });
  EXPECT_FALSE(
      refused.WaitForNotificationWithTimeout(kWatchForAPushGoingThrough));
  queue.Close();
  blocked.join();
  EXPECT_THAT(queue.PopBatch(10, absl::InfiniteDuration()), ElementsAre(3));
}

TEST(BoundedQueueTest, ConsumerReceivesWhatAnotherThreadPushes) {
  BoundedQueue<int> queue(10);
  std::thread producer([&] { queue.TryPush(42); });
  std::optional<int> item = queue.Pop(absl::InfiniteDuration());
  producer.join();
  EXPECT_EQ(item, 42);
}

}  // namespace
}  // namespace eroom
