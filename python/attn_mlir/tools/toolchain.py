"""`python -m attn_mlir.tools.toolchain`: where the installed MLIR/LLVM tools and runtimes are."""

from ..toolchain import llvm_tool, mlir_tool, openmp_library, runtime_library


def main() -> None:
    for tool in ("mlir-opt", "mlir-translate", "mlir-runner"):
        print(f"{tool}: {mlir_tool(tool)}")
    for tool in ("FileCheck", "opt", "llc"):  # llc/opt: attn-compile's object emission
        print(f"{tool}: {llvm_tool(tool)}")
    print(f"libmlir_c_runner_utils.so: {runtime_library('libmlir_c_runner_utils.so')}")
    print(f"libiomp5.so: {openmp_library()}")


if __name__ == "__main__":
    main()
