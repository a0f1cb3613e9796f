// attn-run on functions the JIT cannot run and on bad inputs: one line per problem,
// located where there is IR to point at, exit code 1 (2 for usage), never a traceback.

// RUN: %exit_code %attn_run %s 2>&1 | FileCheck %s --check-prefix=CHOOSE
// CHOOSE: {{^}}error: the module has several public functions (@add, @dynamic_result, @mask_argument, @bf16_argument, @not_lowered); choose one with entry={{$}}
// CHOOSE-NEXT: exit 1

// RUN: %exit_code %attn_run %s --entry nope 2>&1 | FileCheck %s --check-prefix=ENTRY
// ENTRY: {{^}}error: no public function @nope in the module (public functions: @add, {{.*}}){{$}}
// ENTRY-NEXT: exit 1

// RUN: %PYTHON -c "import numpy as np; np.savez('%t.shape.npz', arg0=np.zeros((3,), np.float32), arg1=np.zeros((4,), np.float32))"
// RUN: %exit_code %attn_run %s --entry add --inputs %t.shape.npz 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: {{^}}error: argument 0 of @add: expected shape 4 (tensor<4xf32>), got 3{{$}}
// SHAPE-NEXT: exit 1

// RUN: %PYTHON -c "import numpy as np; np.savez('%t.dtype.npz', arg0=np.zeros((4,)), arg1=np.zeros((4,), np.float32))"
// RUN: %exit_code %attn_run %s --entry add --inputs %t.dtype.npz 2>&1 | FileCheck %s --check-prefix=DTYPE
// DTYPE: {{^}}error: argument 0 of @add: expected dtype float32 (tensor<4xf32>), got float64{{$}}
// DTYPE-NEXT: exit 1

// RUN: %PYTHON -c "import numpy as np; np.savez('%t.keys.npz', x=np.zeros((4,), np.float32))"
// RUN: %exit_code %attn_run %s --entry add --inputs %t.keys.npz 2>&1 | FileCheck %s --check-prefix=KEYS
// KEYS: {{^}}error: '{{.*}}.keys.npz' lacks arg0, arg1 (it has: x){{$}}
// KEYS-NEXT: exit 1

// RUN: %exit_code %attn_run %s --entry add --inputs %s 2>&1 | FileCheck %s --check-prefix=NOT-NPZ
// NOT-NPZ: {{^}}error: cannot read '{{.*}}attn-run-errors.mlir': not an .npz file (ValueError){{$}}
// NOT-NPZ-NEXT: exit 1

// RUN: %exit_code %attn_run %s --entry add --output %t.no-such-dir/out.npz 2>&1 | FileCheck %s --check-prefix=OUTPUT
// OUTPUT: {{^}}error: cannot write output file '{{.*}}.no-such-dir/out.npz': No such file or directory{{$}}
// OUTPUT-NEXT: exit 1

// RUN: %exit_code %attn_run %s.missing 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: {{^}}error: could not open input file '{{.*}}.missing': no such file{{$}}
// MISSING-NEXT: exit 1

// RUN: %exit_code %attn_run %s --seed x 2>&1 | FileCheck %s --check-prefix=USAGE
// USAGE: {{^}}attn-run: error: argument --seed: invalid int value: 'x' (see attn-run --help){{$}}
// USAGE-NEXT: exit 2

func.func @add(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.add ins(%a, %b : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// RUN: %exit_code %attn_run %s --entry dynamic_result 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// DYNAMIC: {{^}}{{.*}}attn-run-errors.mlir:[[@LINE+2]]:1: error: result 0 of @dynamic_result has a dynamic shape (tensor<?xf32>); the JIT needs static result shapes{{$}}
// DYNAMIC-NEXT: exit 1
func.func @dynamic_result(%a: tensor<?xf32>) -> tensor<?xf32> {
  return %a : tensor<?xf32>
}

// RUN: %exit_code %attn_run %s --entry mask_argument 2>&1 | FileCheck %s --check-prefix=MASK
// MASK: {{^}}{{.*}}attn-run-errors.mlir:[[@LINE+2]]:1: error: argument 0 of @mask_argument has element type i1, which the JIT boundary does not support{{$}}
// MASK-NEXT: exit 1
func.func @mask_argument(%m: tensor<4xi1>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  return %e : tensor<4xf32>
}

// RUN: %exit_code %attn_run %s --entry bf16_argument 2>&1 | FileCheck %s --check-prefix=BF16
// BF16: {{^}}{{.*}}attn-run-errors.mlir:[[@LINE+2]]:1: error: argument 0 of @bf16_argument has element type bf16, which the JIT boundary does not support{{$}}
// BF16-NEXT: exit 1
func.func @bf16_argument(%a: tensor<4xbf16>) -> tensor<4xbf16> {
  return %a : tensor<4xbf16>
}

// RUN: %exit_code %attn_run %s --entry not_lowered 2>&1 | FileCheck %s --check-prefix=LOWERING
// LOWERING: {{^}}{{.*}}attn-run-errors.mlir:[[@LINE+7]]:10: error: 'complex.create' was not lowered to the LLVM dialect by the pipeline; the JIT cannot compile it{{$}}
// LOWERING: exit 1
func.func @not_lowered(%a: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %c = complex.create %x, %x : complex<f32>
    %m = complex.abs %c : complex<f32>
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
