// Helpers shared by the protocol tests.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "sensordb/protocol/frame.h"

namespace sensordb::protocol::testing {

// The frame's bytes through a FrameDecoder, as a peer would receive them.
inline Frame RoundTrip(const OutFrame& out) {
  FrameDecoder decoder;
  Status s = decoder.Feed(out.ToBytes());
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::optional<Frame> frame = decoder.Next();
  EXPECT_TRUE(frame.has_value());
  EXPECT_FALSE(decoder.Next().has_value());
  EXPECT_TRUE(decoder.at_frame_boundary());
  return std::move(*frame);
}

// The message of type T in `frame`; fails the test when it carries another type.
template <typename T>
const T& MessageOf(const Frame& frame) {
  const T* msg = frame.As<T>();
  EXPECT_NE(msg, nullptr) << "frame carries " << MessageName(frame.type());
  return *msg;
}

}  // namespace sensordb::protocol::testing
