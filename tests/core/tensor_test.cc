#include <gtest/gtest.h>

#include <sstream>

#include "core/device_spec.h"
#include "core/gpu.h"
#include "core/pinned_pool.h"
#include "core/tensor.h"

namespace kiln {
namespace {

TEST(Tensor, FromVectorAndAccess) {
  Tensor t = Tensor::of<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.dtype(), float32);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.num_elements(), 6);
  EXPECT_EQ(t.bytes(), 24u);
  EXPECT_TRUE(t.on_host());
  EXPECT_EQ(t.data<float>()[4], 5.0f);
  EXPECT_THROW(t.data<int32_t>(), InvalidArgumentError);
  EXPECT_THROW(Tensor::of<float>({1, 2, 3}, {2, 2}), InvalidArgumentError);
  EXPECT_THROW(Tensor(float32, Shape{-1, 2}), InvalidArgumentError);
}

TEST(Tensor, CopiesShareAndCloneCopies) {
  Tensor a = Tensor::of<int32_t>({1, 2, 3}, {3});
  Tensor b = a;
  EXPECT_TRUE(a.shares_buffer_with(b));
  EXPECT_FALSE(a.buffer_is_unique());
  Tensor c = a.clone();
  c.data<int32_t>()[0] = 10;
  EXPECT_EQ(a.data<int32_t>()[0], 1);
  Tensor r = a.reshaped(Shape{1, 3});
  EXPECT_TRUE(r.shares_buffer_with(a));
  EXPECT_THROW(a.reshaped(Shape{2, 2}), InvalidArgumentError);
}

TEST(Tensor, StringsAndScalars) {
  Tensor s = Tensor::of_strings({"a", "bc"}, {2});
  EXPECT_EQ(s.data<std::string>()[1], "bc");
  Tensor s2 = s.clone();
  s2.data<std::string>()[0] = "zz";
  EXPECT_EQ(s.data<std::string>()[0], "a");
  EXPECT_EQ(Tensor::scalar<int64_t>(7).item<int64_t>(), 7);
  EXPECT_EQ(Tensor(float32, Shape{0, 4}).num_elements(), 0);
}

TEST(Tensor, PrintsLikeNumpy) {
  EXPECT_EQ(Tensor::of<float>({1, 2, 3, 4}, {2, 2}).to_string(), "[[1. 2.]\n [3. 4.]]");
  EXPECT_EQ(Tensor::of<float>({1.5f, 0.25f}, {2}).to_string(), "[1.5  0.25]");
  EXPECT_EQ(Tensor::of<int32_t>({1, -20, 3}, {3}).to_string(), "[  1 -20   3]");
  EXPECT_EQ(Tensor::scalar<double>(2.5).to_string(), "2.5");
  EXPECT_EQ(Tensor::of<bool>({true, false}, {2}).to_string(), "[ True False]");
  EXPECT_EQ(Tensor(float32, Shape{0, 3}).to_string(), "[]");
  EXPECT_EQ(Tensor::of<int32_t>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2}).to_string(),
            "[[[1 2]\n  [3 4]]\n\n [[5 6]\n  [7 8]]]");
  std::vector<int32_t> big(2000);
  for (int i = 0; i < 2000; ++i) big[i] = i;
  EXPECT_EQ(Tensor::from_vector(big).to_string(), "[   0    1    2 ... 1997 1998 1999]");
  std::ostringstream os;
  os << Tensor::of<float>({1e-5f, 1.0f}, {2});
  EXPECT_EQ(os.str(), "[1.e-05 1.e+00]");
}

TEST(DeviceSpec, ParsesTensorFlowForms) {
  EXPECT_EQ(DeviceSpec::parse("/cpu:0"), DeviceSpec::cpu(0));
  EXPECT_EQ(DeviceSpec::parse("/gpu:1"), DeviceSpec::gpu(1));
  EXPECT_EQ(DeviceSpec::parse("/device:GPU:2"), DeviceSpec::gpu(2));
  EXPECT_EQ(DeviceSpec::parse("/job:localhost/replica:0/task:0/device:CPU:3"), DeviceSpec::cpu(3));
  EXPECT_EQ(DeviceSpec::parse("GPU:0"), DeviceSpec::gpu(0));
  EXPECT_EQ(DeviceSpec::gpu(1).to_string(), "/device:GPU:1");
  EXPECT_EQ(DeviceSpec::cpu(0).full_name(), "/job:localhost/replica:0/task:0/device:CPU:0");
  EXPECT_THROW(DeviceSpec::parse("/tpu:0"), InvalidArgumentError);
  EXPECT_THROW(DeviceSpec::parse("gpu:x"), InvalidArgumentError);
  EXPECT_THROW(DeviceSpec::parse(""), InvalidArgumentError);
}

TEST(PinnedBufferPool, BoundsOutstandingBuffers) {
  PinnedBufferPool pool(4096, 2);
  EXPECT_EQ(pool.available(), 2);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    EXPECT_EQ(pool.available(), 0);
    EXPECT_NE(a.data(), b.data());
    EXPECT_EQ(a.size(), 4096u);
  }
  EXPECT_EQ(pool.available(), 2);
}

TEST(GpuTensor, RoundTripsThroughDeviceMemory) {
  if (gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  Tensor host = Tensor::of<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor dev = host.copy_to(gpu::device_allocator(0, 0), DeviceSpec::gpu(0));
  EXPECT_FALSE(dev.on_host());
  EXPECT_EQ(dev.device(), DeviceSpec::gpu(0));
  Tensor dev2 = dev.clone();
  EXPECT_EQ(dev2.to_vector<double>(), host.to_vector<double>());
  EXPECT_EQ(dev.to_string(), host.to_string());
}

TEST(GpuAllocator, SteadyStateMakesNoCudaMallocs) {
  if (gpu::device_count() == 0) GTEST_SKIP() << "no GPU";
  Allocator* a = gpu::device_allocator(0, 0);
  for (int i = 0; i < 3; ++i) a->deallocate(a->allocate(1 << 20), 1 << 20);
  int64_t before = gpu::allocator_stats().device_mallocs;
  for (int i = 0; i < 100; ++i) {
    void* p = a->allocate(1 << 20);
    void* q = a->allocate(1000);
    a->deallocate(p, 1 << 20);
    a->deallocate(q, 1000);
  }
  EXPECT_EQ(gpu::allocator_stats().device_mallocs, before + 1);  // only the 1000-byte block
}

}  // namespace
}  // namespace kiln
