// attn-run on bad arguments and damaged input files: one clear line, never a
// traceback, an internal error or a file written under another name.

// RUN: %exit_code %attn_run %s --entry add --bench -1 2>&1 | FileCheck %s --check-prefix=BENCH
// BENCH: {{^}}attn-run: error: argument --bench: expected an integer >= 0, got -1 (see attn-run --help){{$}}
// BENCH-NEXT: exit 2

// RUN: %exit_code %attn_run %s --entry add --seed -1 2>&1 | FileCheck %s --check-prefix=SEED
// SEED: {{^}}attn-run: error: argument --seed: expected an integer >= 0, got -1 (see attn-run --help){{$}}
// SEED-NEXT: exit 2

// RUN: %exit_code %attn_run %s --entry add --rtol nan 2>&1 | FileCheck %s --check-prefix=RTOL
// RTOL: {{^}}attn-run: error: argument --rtol: expected a finite number >= 0, got nan (see attn-run --help){{$}}

// RUN: %exit_code %attn_run %s --entry add --out x.npz 2>&1 | FileCheck %s --check-prefix=ABBREV
// ABBREV: {{^}}attn-run: error: unrecognized arguments: --out x.npz (see attn-run --help){{$}}

// RUN: rm -rf %t.dir && mkdir -p %t.dir
// RUN: %exit_code %attn_run %s --entry add --output %t.dir 2>&1 | FileCheck %s --check-prefix=OUTPUT-DIR
// OUTPUT-DIR: {{^}}error: cannot write output file '{{.*}}.dir': is a directory{{$}}
// OUTPUT-DIR-NEXT: exit 1
// RUN: not ls %t.dir.npz

// --output names the file exactly (no .npz appended).
// RUN: rm -f %t.results %t.results.npz
// RUN: %attn_run %s --entry add --output %t.results -q
// RUN: %PYTHON -c "import numpy as np; print(sorted(np.load('%t.results').files))" | FileCheck %s --check-prefix=EXACT
// RUN: not ls %t.results.npz
// EXACT: ['result0']

// RUN: %PYTHON -c "import numpy as np; np.savez('%t.pickled.npz', arg0=np.array([{'a': 1}], dtype=object), arg1=np.zeros(4, np.float32))"
// RUN: %exit_code %attn_run %s --entry add --inputs %t.pickled.npz 2>&1 | FileCheck %s --check-prefix=PICKLED
// PICKLED: {{^}}error: cannot read arg0 of '{{.*}}pickled.npz': it holds Python objects (pickled), not a numeric array{{$}}
// PICKLED-NEXT: exit 1

// RUN: %PYTHON -c "import numpy as np, io; b = io.BytesIO(); np.savez(b, arg0=np.zeros(4, np.float32), arg1=np.zeros(4, np.float32)); open('%t.truncated.npz', 'wb').write(b.getvalue()[:200])"
// RUN: %exit_code %attn_run %s --entry add --inputs %t.truncated.npz 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// TRUNCATED: {{^}}error: cannot read '{{.*}}truncated.npz': not an .npz file (BadZipFile){{$}}
// TRUNCATED-NEXT: exit 1

// RUN: %PYTHON -c "import pickle; pickle.dump({'arg0': 1}, open('%t.pickle', 'wb'))"
// RUN: %exit_code %attn_run %s --entry add --inputs %t.pickle 2>&1 | FileCheck %s --check-prefix=PICKLE-FILE
// PICKLE-FILE: {{^}}error: cannot read '{{.*}}.pickle': not an .npz file (ValueError){{$}}
// PICKLE-FILE-NEXT: exit 1

// A 64 PiB argument: a clear error before any allocation (not a MemoryError).
// RUN: %exit_code %attn_run %s --entry huge 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: {{^}}error: argument 0 of @huge (tensor<8589934592x2097152xf32>) needs 64.0 PiB, more than this machine's memory ({{.*}}){{$}}
// HUGE-NEXT: exit 1

func.func @add(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.add ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

func.func @huge(%a: tensor<8589934592x2097152xf32>) -> tensor<1xf32> {
  %c = arith.constant dense<0.0> : tensor<1xf32>
  return %c : tensor<1xf32>
}
