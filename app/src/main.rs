//! `stepwise-app`: the desktop app, or (`--screenshot`) one view rendered offscreen to a PNG.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::Parser;

    /// Stepwise: which optimizer should I use, and why does it behave as it does?
    #[derive(Parser)]
    #[command(version)]
    struct Args {
        /// Render the view offscreen into this PNG and exit (no window).
        #[arg(long)]
        screenshot: Option<std::path::PathBuf>,
        /// The view to open with [default: the one last left; experiment for screenshots].
        #[arg(long, value_enum)]
        view: Option<stepwise_app::View>,
        /// Start training the experiment view's configuration (as last left) as the window opens.
        #[arg(long, conflicts_with = "screenshot")]
        start: bool,
        /// Screenshot size in logical pixels, as WIDTHxHEIGHT.
        #[arg(long, default_value = "1400x900", value_parser = parse_size)]
        size: [f32; 2],
    }

    fn parse_size(text: &str) -> Result<[f32; 2], String> {
        let (w, h) = text
            .split_once('x')
            .ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT"))?;
        let side = |s: &str| {
            s.parse::<u16>()
                .ok()
                .filter(|&v| (200..=8000).contains(&v))
                .map(f32::from)
                .ok_or_else(|| format!("{s:?} is not a size from 200 to 8000"))
        };
        Ok([side(w)?, side(h)?])
    }

    let args = Args::parse();
    let result = match &args.screenshot {
        Some(path) => {
            stepwise_app::native::screenshot(args.view.unwrap_or_default(), path, args.size)
        }
        None => stepwise_app::native::run(args.view, args.start).map_err(|err| err.to_string()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("error: {reason}");
            std::process::ExitCode::FAILURE
        }
    }
}

// The browser starts the app from `web/` (its page calls the library's exported `start`).
#[cfg(target_arch = "wasm32")]
fn main() {}
