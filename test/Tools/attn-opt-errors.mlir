// Bad input: one line per problem, `file:line:col: error:` where there is a location,
// exit code 1 for bad input, 2 for usage errors, never a traceback or an abort.

// RUN: %exit_code %attn_opt %s -p 'builtin.module(foo-bar)' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: {{^}}error: unknown pass 'foo-bar' in pass pipeline 'builtin.module(foo-bar)'{{$}}
// UNKNOWN-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(attn-to-llvm{nope=1})' 2>&1 | FileCheck %s --check-prefix=PROJECT-OPTION
// RUN: %exit_code %attn_opt %s --attn-to-llvm=nope=1 2>&1 | FileCheck %s --check-prefix=PROJECT-OPTION
// PROJECT-OPTION: {{^}}error: pass 'attn-to-llvm' has no option 'nope' (options: {{.*}}schedule{{.*}}){{$}}
// PROJECT-OPTION-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(canonicalize{nope=1})' 2>&1 | FileCheck %s --check-prefix=UPSTREAM-OPTION
// UPSTREAM-OPTION: {{^}}error: pass 'canonicalize' has no option 'nope' in pass pipeline 'builtin.module(canonicalize{nope=1})'{{$}}
// UPSTREAM-OPTION-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(canonicalize{max-iterations=abc})' 2>&1 | FileCheck %s --check-prefix=BAD-VALUE
// BAD-VALUE: {{^}}error: invalid options 'max-iterations=abc' for pass 'canonicalize' in pass pipeline {{.*}}: for the --max-iterations option: 'abc' value invalid for long argument{{$}}
// BAD-VALUE-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(canonicalize' 2>&1 | FileCheck %s --check-prefix=MALFORMED
// MALFORMED: {{^}}error: invalid pass pipeline 'builtin.module(canonicalize': expected pass pipeline to be wrapped with the anchor operation type, e.g. 'builtin.module(...)'{{$}}
// MALFORMED-NEXT: exit 2

// RUN: %exit_code %attn_opt %s -p 'builtin.module(func.func(attn-to-llvm))' 2>&1 | FileCheck %s --check-prefix=NESTED
// NESTED: {{^}}error: 'attn-to-llvm' is a pipeline on modules; it cannot be nested under 'func.func'{{$}}
// NESTED-NEXT: exit 2

// RUN: %exit_code %attn_opt %s --no-such-flag 2>&1 | FileCheck %s --check-prefix=FLAG
// FLAG: {{^}}attn-opt: error: unrecognized arguments: --no-such-flag (see attn-opt --help){{$}}
// FLAG-NEXT: exit 2

// RUN: %exit_code %attn_opt %s.missing 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: {{^}}error: could not open input file '{{.*}}attn-opt-errors.mlir.missing': no such file{{$}}
// MISSING-NEXT: exit 1

// RUN: %exit_code %attn_opt %S 2>&1 | FileCheck %s --check-prefix=DIRECTORY
// DIRECTORY: {{^}}error: could not open input file '{{.*}}Tools': is a directory{{$}}
// DIRECTORY-NEXT: exit 1

// RUN: %exit_code %attn_opt %s -o %t.no-such-dir/out.mlir 2>&1 | FileCheck %s --check-prefix=OUTPUT-DIR
// OUTPUT-DIR: {{^}}error: cannot write output file '{{.*}}.no-such-dir/out.mlir': No such file or directory{{$}}
// OUTPUT-DIR-NEXT: exit 1

// Spaces around `@+1` are allowed, as upstream: the expectation is checked, not ignored.
// RUN: printf '// expected-error @+1 {{nope}}\nfunc.func @f() { return }\n' | %exit_code %attn_opt --verify-diagnostics 2>&1 | FileCheck %s --check-prefix=SPACED
// SPACED: {{^}}<stdin>:1:4: error: expected error "nope" was not produced{{$}}
// SPACED-NEXT: exit 1
// RUN: printf '// expected-error  @+1   {{expected}}\nfunc.func @f() { return %%%%x }\n' | %attn_opt --verify-diagnostics
// RUN: printf '// expected-error-re @+1 {{exp{{[a-z]+}}d}}\nfunc.func @f() { return %%%%x }\n' | %attn_opt --verify-diagnostics

// Multi-line diagnostics (a region dump) are cut to one located line unless asked for.
// RUN: printf 'func.func @f(%%%%a: tensor<4xf32>) {\n  %%%%r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]} outs(%%%%a : tensor<4xf32>) {\n  ^bb0(%%%%x: f32):\n    linalg.yield %%%%x : f32\n  } -> tensor<4xf32>\n}\n' > %t.noterm.mlir
// RUN: %exit_code %attn_opt %t.noterm.mlir 2>&1 | FileCheck %s --check-prefix=ONE-LINE
// ONE-LINE: {{^}}{{.*}}noterm.mlir:2:{{[0-9]+}}: error: block with no terminator, has 'linalg.generic'{{$}}
// ONE-LINE-NEXT: exit 1
// RUN: %exit_code %attn_opt %t.noterm.mlir --mlir-print-op-on-diagnostic 2>&1 | FileCheck %s --check-prefix=WHOLE
// WHOLE: error: block with no terminator, has
// WHOLE-NEXT: "linalg.generic"
// WHOLE: note: see current operation

// Binary garbage on stdin: a located error, not a UnicodeError.
// RUN: printf 'func.func @f() {\377}' | %exit_code %attn_opt 2>&1 | FileCheck %s --check-prefix=BINARY
// BINARY: {{^}}<stdin>:1:17: error: the input is not UTF-8 text (byte 0xff){{$}}
// BINARY-NEXT: exit 1

// RUN: %exit_code %attn_opt %s -o %S 2>&1 | FileCheck %s --check-prefix=OUTPUT-IS-DIR
// OUTPUT-IS-DIR: {{^}}error: cannot write output file '{{.*}}Tools': is a directory{{$}}
// OUTPUT-IS-DIR-NEXT: exit 1

// Located errors from a project pass, from the lowering and from the parser.
// RUN: %exit_code %attn_opt %s --attn-to-llvm 2>&1 | FileCheck %s --check-prefix=BOUNDARY
// BOUNDARY: {{^}}{{.*}}attn-opt-errors.mlir:[[@LINE+3]]:1: error: argument 0 of @mask_argument has type tensor<4xi1>: i1 tensors are not supported at function boundaries (pass them as i8){{$}}
// BOUNDARY-NEXT: exit 1
// BOUNDARY-NOT: Traceback
func.func @mask_argument(%m: tensor<4xi1>) -> tensor<4xi1> {
  return %m : tensor<4xi1>
}

// RUN: echo 'func.func @f() {' | %exit_code %attn_opt 2>&1 | FileCheck %s --check-prefix=STDIN
// STDIN: {{^}}<stdin>:1:{{[0-9]+}}: error: expected operation name in quotes{{$}}
// STDIN-NEXT: exit 1

// A wrong expectation under --verify-diagnostics is reported where it is written.
// RUN: printf 'func.func @f(%%%%a: f32) {\n  // expected-error@+1 {{no such message}}\n  return\n}\n' | %exit_code %attn_opt --verify-diagnostics 2>&1 | FileCheck %s --check-prefix=VERIFY
// VERIFY: {{^}}<stdin>:2:6: error: expected error "no such message" was not produced{{$}}
// VERIFY-NEXT: exit 1

// Notes must be expected too.
// RUN: printf 'func.func @f(%%%%a: tensor<4xf32>) -> tensor<4xf32> {\n  // expected-error@+1 {{use of value}}\n  return %%%%a : tensor<8xf32>\n}\n' | %exit_code %attn_opt --verify-diagnostics 2>&1 | FileCheck %s --check-prefix=NOTE
// NOTE: {{^}}<stdin>:1:14: error: unexpected note: prior use here{{$}}
// NOTE-NEXT: exit 1
