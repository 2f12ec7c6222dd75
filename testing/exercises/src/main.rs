//! `exercises start DIR CHAPTER [--solved N.M,...]`: rewrites the crate in DIR as the start of
//! CHAPTER (scripts/jump.sh --exercises calls it). `exercises list`: every step, its task and how
//! many lines it has the learner write.
//! `exercises check`: what keeps the exercises from being usable.

use std::path::PathBuf;
use std::process::ExitCode;

use exercises::Step;

fn repository() -> PathBuf {
    std::env::var_os("CAPDKC_REPOSITORY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn run(args: &[String]) -> anyhow::Result<bool> {
    match args {
        [command, dir, chapter, rest @ ..] if command == "start" => {
            let chapter: u8 = chapter.parse()?;
            let solved: Vec<Step> = match rest {
                [] => Vec::new(),
                [flag, list] if flag == "--solved" => {
                    list.split(',').filter_map(Step::parse).collect()
                }
                _ => anyhow::bail!("usage: exercises start DIR CHAPTER [--solved N.M,...]"),
            };
            exercises::start_state(&PathBuf::from(dir), chapter, &solved)?;
            Ok(true)
        }
        [command] if command == "list" => {
            for (_, dir) in exercises::checkpoint_dirs(&repository().join("checkpoints"))? {
                for (step, regions) in exercises::exercises(&dir)? {
                    if dir.file_name().is_some_and(|n| {
                        n.to_string_lossy()
                            .starts_with(&format!("{:02}", step.chapter))
                    }) {
                        let files: Vec<String> = regions
                            .iter()
                            .map(|e| e.file.display().to_string())
                            .collect();
                        let lines: usize = regions.iter().map(|e| e.region.lines_written()).sum();
                        println!(
                            "{step}  {}  ({}; {lines} lines to write)",
                            regions[0].region.task,
                            files.join(", ")
                        );
                    }
                }
            }
            Ok(true)
        }
        [command] if command == "check" => {
            let problems = exercises::problems(&repository().join("checkpoints"))?;
            for problem in &problems {
                eprintln!("{problem}");
            }
            Ok(problems.is_empty())
        }
        _ => anyhow::bail!("usage: exercises start DIR CHAPTER [--solved N.M,...] | list | check"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("exercises: {error:#}");
            ExitCode::from(2)
        }
    }
}
