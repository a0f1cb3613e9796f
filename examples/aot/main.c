/* Runs the ahead-of-time compiled attention layer on a stored input and
 * compares its output with the stored PyTorch reference.
 * Usage: main INPUT.bin EXPECTED.bin  (raw little-endian float32)
 * Exit code 0 only when every element matches within rtol/atol. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mha.h"

static int read_floats(const char *path, float *data, size_t count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "error: cannot open %s\n", path);
    return 0;
  }
  size_t got = fread(data, sizeof(float), count, f);
  int extra = fgetc(f) != EOF;
  fclose(f);
  if (got != count || extra) {
    fprintf(stderr, "error: %s must hold exactly %zu float32 values\n", path, count);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s INPUT.bin EXPECTED.bin\n", argv[0]);
    return 2;
  }
  static float input[FORWARD_ARG0_ELEMENTS];
  static float expected[FORWARD_RESULT0_ELEMENTS];
  static float output[FORWARD_RESULT0_ELEMENTS];
  if (!read_floats(argv[1], input, FORWARD_ARG0_ELEMENTS) ||
      !read_floats(argv[2], expected, FORWARD_RESULT0_ELEMENTS))
    return 2;

  forward(input, output);

  const double rtol = 1e-4, atol = 1e-5;
  double max_error = 0.0;
  size_t bad = 0;
  for (size_t i = 0; i < FORWARD_RESULT0_ELEMENTS; ++i) {
    double error = fabs((double)output[i] - (double)expected[i]);
    if (!(error <= atol + rtol * fabs((double)expected[i])))  /* NaN counts as bad */
      ++bad;
    if (error > max_error || isnan(error))
      max_error = error;
  }
  printf("forward: %d outputs, max |error| = %.3g vs the reference: %s\n",
         FORWARD_RESULT0_ELEMENTS, max_error, bad ? "MISMATCH" : "OK");
  return bad ? 1 : 0;
}
