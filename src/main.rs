use clap::Parser;

fn main() {
    let cli = rxpath::cli::Cli::parse();
    std::process::exit(rxpath::cli::run(cli));
}
