from connlog.codegen.cli import console

console()
