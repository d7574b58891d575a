fn main() {
    std::process::exit(nll::cli::run());
}
