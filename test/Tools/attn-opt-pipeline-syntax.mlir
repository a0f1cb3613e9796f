// Pass pipelines are parsed as strictly as mlir-opt parses them, option values are
// range-checked, and flags are never abbreviated: each of these was once accepted
// (exit 0, running nothing or the wrong thing). Usage errors exit 2.

// RUN: %exit_code %attn_opt %s -p 'builtin.modul(canonicalize)' 2>&1 | FileCheck %s --check-prefix=ANCHOR
// ANCHOR: {{^}}error: invalid pass pipeline 'builtin.modul(canonicalize)': can't run 'builtin.modul' pass manager on 'builtin.module' op{{$}}
// ANCHOR-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(func.fun(cse))' 2>&1 | FileCheck %s --check-prefix=NESTED-ANCHOR
// NESTED-ANCHOR: {{^}}error: 'func.fun' in pass pipeline element 'func.fun(cse)' is neither a pass nor a registered operation to anchor a nested pipeline on{{$}}
// NESTED-ANCHOR-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(,)' 2>&1 | FileCheck %s --check-prefix=EMPTY-ELEMENTS
// EMPTY-ELEMENTS: {{^}}error: invalid pass pipeline 'builtin.module(,)': '' does not refer to a registered pass or pass pipeline (an empty element) (at column 16){{$}}
// EMPTY-ELEMENTS-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(canonicalize,,cse)' 2>&1 | FileCheck %s --check-prefix=DOUBLE-COMMA
// DOUBLE-COMMA: {{^}}error: invalid pass pipeline 'builtin.module(canonicalize,,cse)': '' does not refer to a registered pass or pass pipeline (an empty element) (at column 29){{$}}
// DOUBLE-COMMA-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p '' 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: %exit_code %attn_opt %s -p 'canonicalize' 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: {{^}}error: invalid pass pipeline '{{(canonicalize)?}}': expected pass pipeline to be wrapped with the anchor operation type, e.g. 'builtin.module(...)'{{$}}
// EMPTY-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(cse)(cse)' 2>&1 | FileCheck %s --check-prefix=EXTRA
// EXTRA: {{^}}error: invalid pass pipeline 'builtin.module(cse)(cse)': encountered extra closing ')' creating unbalanced parentheses (at column 19){{$}}
// EXTRA-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(attn-optimize{max-rounds=1 max-rounds=2})' 2>&1 | FileCheck %s --check-prefix=REPEATED
// REPEATED: {{^}}error: option 'max-rounds' is given more than once in 'max-rounds=1 max-rounds=2'{{$}}
// REPEATED-NEXT: exit 2

// RUN: %exit_code %attn_opt %s --attn-optimize=max-weight-growth=-1 2>&1 | FileCheck %s --check-prefix=GROWTH
// RUN: %exit_code %attn_opt %s --attn-optimize=max-weight-growth=nan 2>&1 | FileCheck %s --check-prefix=GROWTH
// RUN: %exit_code %attn_opt %s --attn-optimize=max-weight-growth=inf 2>&1 | FileCheck %s --check-prefix=GROWTH
// GROWTH: {{^}}error: invalid value '{{.*}}' for option 'max-weight-growth' of pass 'attn-optimize': expected a finite number >= 0{{$}}
// GROWTH-NEXT: exit 2

// RUN: %exit_code %attn_opt %s --attn-to-llvm=threads=-1 2>&1 | FileCheck %s --check-prefix=THREADS
// THREADS: {{^}}error: invalid value '-1' for option 'threads' of pass 'attn-to-llvm': expected a finite number >= 0{{$}}
// THREADS-NEXT: exit 2

// RUN: %exit_code %attn_opt %s --attn-to-llvm=max-score-bytes=-5 2>&1 | FileCheck %s --check-prefix=SCORE-BYTES
// SCORE-BYTES: {{^}}error: invalid value '-5' for option 'max-score-bytes' of pass 'attn-to-llvm': expected a finite number >= 0{{$}}
// SCORE-BYTES-NEXT: exit 2

// RUN: %exit_code %attn_opt %s --attn-to-llvm=threads 2>&1 | FileCheck %s --check-prefix=NO-VALUE
// NO-VALUE: {{^}}error: option 'threads' of pass 'attn-to-llvm' needs a value (threads=...){{$}}
// NO-VALUE-NEXT: exit 2

// RUN: %exit_code %attn_opt %s --attn-to 2>&1 | FileCheck %s --check-prefix=PREFIX
// PREFIX: {{^}}attn-opt: error: unrecognized arguments: --attn-to (see attn-opt --help){{$}}
// PREFIX-NEXT: exit 2

// Spaces around elements and an empty module pipeline are fine, as upstream.
// RUN: %attn_opt %s -p ' builtin.module( canonicalize , func.func(cse) ) ' | FileCheck %s --check-prefix=OK
// RUN: %attn_opt %s -p 'builtin.module()' | FileCheck %s --check-prefix=OK
// OK: func.func @f
func.func @f() {
  return
}
