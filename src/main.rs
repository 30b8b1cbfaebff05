fn main() {
    std::process::exit(tfpub::cli::main());
}
