// kiln/kernels/host_device.h
//
// Contract: defines KILN_HD, the function qualifier for code that must be
// callable from both host (g++) and device (nvcc) code. Under nvcc
// (__CUDACC__) it expands to `__host__ __device__`; otherwise to nothing.
// Guarded with #ifndef so a build may predefine it.
#pragma once

#ifndef KILN_HD
#if defined(__CUDACC__)
#define KILN_HD __host__ __device__
#else
#define KILN_HD
#endif
#endif
