/* Peak f32 FMA throughput and streaming read bandwidth of this machine.
 *
 *   peak fma THREADS SECONDS          -> "fma THREADS GFLOPS"
 *   peak stream THREADS BYTES SECONDS -> "stream THREADS BYTES GBPS"
 *
 * fma: each thread runs CHAINS independent chains of vector FMAs on
 * registers (no memory operand), enough to cover FMA latency x pipes on
 * current cores; threads are pinned one per CPU. stream: each thread sums its
 * share of a BYTES-sized buffer with vector loads, repeatedly. Built by
 * bench/peak.py with `cc -O2 -mavx512f -mfma -pthread` (24 zmm chains) on
 * AVX-512 machines, else `cc -O2 -mavx2 -mfma -pthread -DUSE_AVX2` (12 ymm
 * chains: 16 registers); peak.py checks the FMA loop's disassembly for spills.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef USE_AVX2
#define CHAINS 12
#define LANES 8
typedef __m256 vec;
#define vset1 _mm256_set1_ps
#define vfma _mm256_fmadd_ps
#define vadd _mm256_add_ps
#define vload _mm256_load_ps
#define vzero _mm256_setzero_ps
static float vsum(vec v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}
#else
#define CHAINS 24
#define LANES 16
typedef __m512 vec;
#define vset1 _mm512_set1_ps
#define vfma _mm512_fmadd_ps
#define vadd _mm512_add_ps
#define vload _mm512_load_ps
#define vzero _mm512_setzero_ps
#define vsum _mm512_reduce_add_ps
#endif

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* CHAINS accumulators, 8 FMA rounds per iteration; returns a value so the
 * compiler keeps the work. */
__attribute__((noinline)) float fma_loop(long iters, float seed) {
  vec acc[CHAINS];
  vec a = vset1(0.999999f), b = vset1(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = vset1(seed + i);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 8
    for (int r = 0; r < 8; r++) {
#pragma GCC unroll 24
      for (int i = 0; i < CHAINS; i++) acc[i] = vfma(acc[i], a, b);
    }
  }
  vec s = acc[0];
  for (int i = 1; i < CHAINS; i++) s = vadd(s, acc[i]);
  return vsum(s);
}

__attribute__((noinline)) float stream_sum(const float *p, long n) {
  vec s0 = vzero(), s1 = s0, s2 = s0, s3 = s0;
  for (long i = 0; i < n; i += 4 * LANES) {
    s0 = vadd(s0, vload(p + i));
    s1 = vadd(s1, vload(p + i + LANES));
    s2 = vadd(s2, vload(p + i + 2 * LANES));
    s3 = vadd(s3, vload(p + i + 3 * LANES));
  }
  return vsum(vadd(vadd(s0, s1), vadd(s2, s3)));
}

typedef struct {
  int cpu;
  double seconds;
  const float *buf;
  long n;
  double result; /* flops or bytes per second of this thread */
  volatile float sink;
  pthread_barrier_t *bar;
} job_t;

static void *fma_thread(void *arg) {
  job_t *j = arg;
  pin(j->cpu);
  long iters = 1 << 16;
  j->sink = fma_loop(iters, 1.0f); /* warm up (clock ramp) */
  pthread_barrier_wait(j->bar);
  double t0 = now(), t = 0;
  long total = 0;
  while ((t = now() - t0) < j->seconds) {
    j->sink += fma_loop(iters, (float)total);
    total += iters;
  }
  j->result = (double)total * 8 * CHAINS * LANES * 2 / t;
  return NULL;
}

static void *stream_thread(void *arg) {
  job_t *j = arg;
  pin(j->cpu);
  j->sink = stream_sum(j->buf, j->n); /* first touch is done by the caller */
  pthread_barrier_wait(j->bar);
  double t0 = now(), t = 0;
  long reps = 0;
  while ((t = now() - t0) < j->seconds) {
    j->sink += stream_sum(j->buf, j->n);
    reps++;
  }
  j->result = (double)reps * j->n * sizeof(float) / t;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: peak fma THREADS SECONDS | peak stream THREADS BYTES SECONDS\n");
    return 2;
  }
  int stream = strcmp(argv[1], "stream") == 0;
  int threads = atoi(argv[2]);
  long bytes = stream ? atol(argv[3]) : 0;
  double seconds = atof(argv[stream ? 4 : 3]);
  cpu_set_t allowed;
  sched_getaffinity(0, sizeof allowed, &allowed);
  int cpus[256], ncpu = 0;
  for (int c = 0; c < 256 && ncpu < threads; c++)
    if (CPU_ISSET(c, &allowed)) cpus[ncpu++] = c;
  if (ncpu < threads) {
    fprintf(stderr, "only %d CPUs available\n", ncpu);
    return 2;
  }
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, threads);
  pthread_t tid[256];
  job_t jobs[256];
  long per = (bytes / sizeof(float) / threads) & ~63L;
  for (int i = 0; i < threads; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].cpu = cpus[i];
    jobs[i].seconds = seconds;
    jobs[i].bar = &bar;
    if (stream) {
      float *buf = aligned_alloc(64, per * sizeof(float) + 64);
      for (long k = 0; k < per; k++) buf[k] = 1.0f;
      jobs[i].buf = buf;
      jobs[i].n = per;
    }
    pthread_create(&tid[i], NULL, stream ? stream_thread : fma_thread, &jobs[i]);
  }
  double sum = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    sum += jobs[i].result;
  }
  if (stream)
    printf("stream %d %ld %.2f\n", threads, per * threads * (long)sizeof(float), sum / 1e9);
  else
    printf("fma %d %.2f\n", threads, sum / 1e9);
  return 0;
}
