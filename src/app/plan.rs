//! Plans: what a job (`run`, `compare` or `sweep`) will compute, built from validated scenarios
//! and plain [`BatchOptions`]. A plan can be estimated before anything runs, executed to
//! results in memory ([`Plan::execute`]) or written to a folder ([`Plan::write`]).

use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::explore::{Condition, DEFAULT_METRICS};
use super::outcome::folder_name;
use crate::batch::fit::Targets;
use crate::batch::prim::PrimOptions;
use crate::batch::{self, Estimate, Shard};
use crate::engine::Keep;
use crate::engine::Layout;
use crate::engine::{self, Solution};
use crate::report::explore::Explore;
use crate::report::shard::JobKind;
use crate::scenario::design::Method;
use crate::scenario::{BASELINE_TOML, Scenario, Start, Sweep, expand_sweep, located_problem};

/// The columns of `runs.csv` at a sweep's points (and the derived `zk_overtakes`).
fn columns_of(sweep: &Sweep) -> Vec<String> {
    let layout = Layout::new(&sweep.base);
    batch::headline_columns(&layout, &layout)
}

/// PRIM's options in their ranges (`batch::prim::check_options`), as command-line options.
fn check_prim(o: &PrimOptions) -> Result<()> {
    match crate::batch::prim::check_options(o) {
        Err(crate::batch::prim::PrimError::BadOption { name, value, range }) => {
            Err(Error::Option {
                option: match name {
                    "peel_alpha" => "peel-alpha",
                    "paste_alpha" => "paste-alpha",
                    "min_mass" => "min-mass",
                    _ => "min-coverage",
                },
                value: value.to_string(),
                allowed: format!("in {range}"),
            })
        }
        _ => Ok(()),
    }
}

/// Most runs a batch may have.
pub const MAX_RUNS: u64 = 10_000_000;
/// Most worker threads a batch may ask for.
pub const MAX_THREADS: usize = 1024;
/// Share of the available memory a batch may be estimated to need before it is refused
/// (unless [`BatchOptions::force`]).
pub const MEMORY_SHARE: f64 = 0.8;

/// The options of a job, as plain data (the command line's flags map onto them one to one).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOptions {
    /// Monte Carlo runs; the scenario's `runs` when `None`.
    pub runs: Option<u64>,
    /// Master seed; the scenario's `seed` when `None`.
    pub seed: Option<u64>,
    /// Worker threads; every core when `None`. Results never depend on it.
    pub threads: Option<usize>,
    /// Draw the charts when writing a folder.
    pub plots: bool,
    /// Also stream every run's trajectories to `trajectories.csv` (`run` and `compare`).
    pub save_runs: bool,
    /// Also write Parquet copies of the tables.
    pub parquet: bool,
    /// Run even if the estimated peak memory exceeds what the machine has available.
    pub force: bool,
    /// Compute only this shard of the batch and write a shard folder for [`super::merge`].
    pub shard: Option<Shard>,
}

impl Default for BatchOptions {
    fn default() -> BatchOptions {
        BatchOptions {
            runs: None,
            seed: None,
            threads: None,
            plots: true,
            save_runs: false,
            parquet: false,
            force: false,
            shard: None,
        }
    }
}

/// What a plan computes.
#[derive(Debug, Clone)]
pub enum Job {
    /// One scenario.
    Run(Scenario),
    /// Two or more scenarios with common random numbers, each against the first.
    Compare(Vec<Scenario>),
    /// Every point of a `[sweep]`, with common random numbers.
    Sweep(Sweep),
}

/// A job with its options applied: every scenario holds the batch's runs and seed.
#[derive(Debug, Clone)]
pub struct Plan {
    job: Job,
    options: BatchOptions,
    /// A sweep's exploration: sensitivity indices or PRIM (`None`: a plain sweep).
    pub(super) explore: Option<Explore>,
    /// The targets a run's scenario names in `[calibrate] targets`: the run also scores them.
    pub(super) fit: Option<std::sync::Arc<Targets>>,
}

/// Reads and validates a scenario file; the built-in baseline when `path` is `None`.
pub fn load_scenario(path: Option<&Path>) -> Result<Scenario> {
    Ok(match path {
        Some(p) => Scenario::from_file(p)?,
        None => Scenario::from_toml_str(BASELINE_TOML, Path::new("<built-in baseline.toml>"))?,
    })
}

/// Reads and validates every scenario file of `paths`, in order (the first error stops).
pub fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>> {
    paths.iter().map(|p| load_scenario(Some(p))).collect()
}

/// Reads a scenario file with a `[sweep]` table and validates every point.
pub fn load_sweep(path: &Path) -> Result<Sweep> {
    Ok(expand_sweep(path)?)
}

/// Checks the options and applies `runs` and `seed` to a scenario.
fn apply(scenario: &mut Scenario, options: &BatchOptions) -> Result<()> {
    if let Some(runs) = options.runs {
        if !(1..=MAX_RUNS).contains(&runs) {
            return Err(Error::Option {
                option: "runs",
                value: runs.to_string(),
                allowed: format!("in [1, {MAX_RUNS}]"),
            });
        }
        scenario.runs = runs;
    }
    if let Some(seed) = options.seed {
        scenario.seed = seed;
    }
    if let Some(t) = options.threads
        && !(1..=MAX_THREADS).contains(&t)
    {
        return Err(Error::Option {
            option: "threads",
            value: t.to_string(),
            allowed: format!("in [1, {MAX_THREADS}]"),
        });
    }
    Ok(())
}

/// The chain constants of `sc` by its `[equilibrium] start`, solved with its seed: `None` when
/// it has none to solve (`off`, `given`).
pub(super) fn constants_of(sc: &Scenario) -> Result<Option<(Vec<f64>, Option<Solution>)>> {
    match sc.equilibrium.start {
        Start::Off => Ok(None),
        Start::Given => Ok(Some((
            sc.chains.iter().map(|c| c.constant_apy).collect(),
            None,
        ))),
        Start::Solve => {
            let sol = engine::solve_equilibrium(sc, sc.seed).map_err(|e| {
                Error::input(
                    None,
                    format!("scenario {:?}: equilibrium start: {e}", sc.name),
                )
            })?;
            Ok(Some((sol.constants.clone(), Some(sol))))
        }
        Start::Parent => {
            let Some(parent) = &sc.equilibrium.parent else {
                return Ok(None);
            };
            let mut parent = (**parent).clone();
            parent.seed = sc.seed;
            let Some((theirs, sol)) = constants_of(&parent)? else {
                return Ok(None);
            };
            let mine = sc
                .chains
                .iter()
                .map(|c| {
                    parent
                        .chains
                        .iter()
                        .position(|p| p.id == c.id)
                        .map_or(c.constant_apy, |i| theirs[i])
                })
                .collect();
            Ok(Some((mine, sol)))
        }
    }
}

/// Sets the chain constants of a scenario by its equilibrium start (and records them as given,
/// so that its resolved file reruns with exactly these); returns the solution when one was solved.
pub fn anchor(sc: &mut Scenario) -> Result<Option<Solution>> {
    let Some((constants, sol)) = constants_of(sc)? else {
        return Ok(None);
    };
    sc.set_constants(&constants);
    Ok(sol)
}

/// Every sweep point's chain constants by its `[equilibrium] start`, as a run's are: `parent`
/// points keep the constants solved once for the base's parent (the status quo every
/// counterfactual keeps), `solve` points solve their own. The base of a `parent` sweep gets the
/// same constants, so that its `scenario.resolved.toml` (`given`) reruns and merges with them.
fn anchor_points(sweep: &mut Sweep) -> Result<()> {
    let parent = match sweep.base.equilibrium.start {
        Start::Parent => constants_of(&sweep.base)?.map(|(c, _)| c),
        _ => None,
    };
    let ids: Vec<String> = sweep.base.chains.iter().map(|c| c.id.clone()).collect();
    for p in &mut sweep.points {
        let sc = &mut p.scenario;
        match (sc.equilibrium.start, &parent) {
            (Start::Parent, Some(theirs)) => {
                let mine: Vec<f64> = sc
                    .chains
                    .iter()
                    .map(|c| {
                        ids.iter()
                            .position(|id| *id == c.id)
                            .map_or(c.constant_apy, |i| theirs[i])
                    })
                    .collect();
                sc.set_constants(&mine);
            }
            (Start::Solve, _) => {
                anchor(sc)?;
            }
            _ => {}
        }
    }
    if let Some(constants) = &parent {
        sweep.base.set_constants(constants);
    }
    Ok(())
}

/// Gives every scenario of a paired job the reference's runs and seed (common random numbers).
fn pair_with<'a>(reference: &Scenario, others: impl Iterator<Item = &'a mut Scenario>) {
    for s in others {
        s.runs = reference.runs;
        s.seed = reference.seed;
    }
}

impl Plan {
    /// A batch of runs of one scenario.
    pub fn run(mut scenario: Scenario, options: BatchOptions) -> Result<Plan> {
        apply(&mut scenario, &options)?;
        anchor(&mut scenario)?;
        let fit = match scenario
            .calibrate
            .as_ref()
            .and_then(|c| c.targets_path.as_ref())
        {
            Some(path) => Some(std::sync::Arc::new(Targets::for_scenario(&scenario, path)?)),
            None => None,
        };
        Ok(Plan {
            job: Job::Run(scenario),
            options,
            explore: None,
            fit,
        })
    }

    /// Scenarios run in pairs with the first one's runs and seed.
    pub fn compare(mut scenarios: Vec<Scenario>, options: BatchOptions) -> Result<Plan> {
        if scenarios.len() < 2 {
            return Err(Error::input(None, "compare needs at least two scenarios"));
        }
        for s in &mut scenarios {
            apply(s, &options)?;
        }
        let (first, rest) = scenarios.split_at_mut(1);
        pair_with(&first[0], rest.iter_mut());
        for s in &mut scenarios {
            anchor(s)?;
        }
        Ok(Plan {
            job: Job::Compare(scenarios),
            options,
            explore: None,
            fit: None,
        })
    }

    /// Every point of a sweep, all with the base scenario's runs and seed.
    /// With `save_runs`, every point's per-run final values go to `points/<point>/runs.csv`.
    pub fn sweep(mut sweep: Sweep, options: BatchOptions) -> Result<Plan> {
        apply(&mut sweep.base, &options)?;
        pair_with(
            &sweep.base,
            sweep.points.iter_mut().map(|p| &mut p.scenario),
        );
        anchor_points(&mut sweep)?;
        Ok(Plan {
            job: Job::Sweep(sweep),
            options,
            explore: None,
            fit: None,
        })
    }

    /// A sweep over a Sobol or Morris design and the sensitivity indices of `metrics` (`runs.csv`
    /// columns; when empty, `[sweep] metrics`, else [`super::explore::DEFAULT_METRICS`]).
    pub fn sensitivity(sweep: Sweep, options: BatchOptions, metrics: &[String]) -> Result<Plan> {
        let from_file = metrics.is_empty();
        let spec = sweep.base.raw.sweep.clone().unwrap_or_default();
        let method = sweep.design.as_ref().map(|d| d.method);
        if !matches!(method, Some(Method::Sobol | Method::Morris)) {
            let what = method.map_or("grid and zip axes".to_string(), |m| {
                format!("design = {:?}", m.name())
            });
            return Err(located_problem(
                &sweep.path,
                if method.is_some() { "sweep.design" } else { "sweep" },
                format!(
                    "has {what}: `l2sim sensitivity` needs design = \"sobol\" (first and total indices) or \"morris\" (screening) with [[sweep.range]] parameters; `l2sim sweep` and `l2sim discover` take any design"
                ),
            )
            .into());
        }
        let metrics: Vec<String> = if !from_file {
            metrics.to_vec()
        } else if !spec.metrics.is_empty() {
            spec.metrics.clone()
        } else {
            DEFAULT_METRICS.iter().map(|m| m.to_string()).collect()
        };
        let columns = columns_of(&sweep);
        for (i, m) in metrics.iter().enumerate() {
            if !columns.contains(m) {
                let hint = crate::scenario::suggest::closest(m, columns.iter().map(String::as_str))
                    .map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
                let message = format!(
                    "{m:?} is not a column of runs.csv{hint}; the metrics are the columns of runs.csv (docs/MODEL.md, section 7)"
                );
                return Err(if from_file {
                    located_problem(
                        &sweep.path,
                        &format!("sweep.metrics[{i}]"),
                        format!("= {message}"),
                    )
                    .into()
                } else {
                    Error::Option {
                        option: "metric",
                        value: m.clone(),
                        allowed: format!("a column of runs.csv{hint}"),
                    }
                });
            }
        }
        let mut plan = Plan::sweep(sweep, options)?;
        plan.explore = Some(Explore::Sensitivity { metrics });
        Ok(plan)
    }

    /// A sweep (any design or grid) and PRIM's box of the runs where `outcome` holds (when
    /// `None`, `[sweep] outcome`).
    pub fn discover(
        sweep: Sweep,
        options: BatchOptions,
        outcome: Option<&str>,
        prim: &PrimOptions,
    ) -> Result<Plan> {
        let spec = sweep.base.raw.sweep.clone().unwrap_or_default();
        let columns = columns_of(&sweep);
        let outcome = match (outcome, &spec.outcome) {
            (Some(o), _) => {
                Condition::parse(o, &columns).map_err(|message| Error::Option {
                    option: "outcome",
                    value: o.to_string(),
                    allowed: message,
                })?;
                o.to_string()
            }
            (None, Some(o)) => {
                Condition::parse(o, &columns)
                    .map_err(|m| located_problem(&sweep.path, "sweep.outcome", format!("= {m}")))?;
                o.clone()
            }
            (None, None) => {
                return Err(located_problem(
                    &sweep.path,
                    "sweep",
                    "has no `outcome`: `l2sim discover` needs a binary outcome, in [sweep] (outcome = \"zk_share_of_l2 > 0.3\") or as --outcome".into(),
                )
                .into());
            }
        };
        check_prim(prim)?;
        let mut plan = Plan::sweep(sweep, options)?;
        plan.explore = Some(Explore::Discovery {
            outcome,
            peel_alpha: prim.peel_alpha,
            paste_alpha: prim.paste_alpha,
            min_mass: prim.min_mass,
            min_coverage: prim.min_coverage,
        });
        Ok(plan)
    }

    /// The exploration of a sweep plan, if any.
    pub fn explore(&self) -> Option<&Explore> {
        self.explore.as_ref()
    }

    pub fn job(&self) -> &Job {
        &self.job
    }

    pub fn options(&self) -> &BatchOptions {
        &self.options
    }

    pub fn kind(&self) -> JobKind {
        match self.job {
            Job::Run(_) => JobKind::Run,
            Job::Compare(_) => JobKind::Compare,
            Job::Sweep(_) => JobKind::Sweep,
        }
    }

    /// The scenario that sets runs, seed and names: the run's, the reference, the sweep's base.
    pub fn reference(&self) -> &Scenario {
        match &self.job {
            Job::Run(s) => s,
            Job::Compare(s) => &s[0],
            Job::Sweep(sw) => &sw.base,
        }
    }

    pub fn runs(&self) -> u64 {
        self.reference().runs
    }

    pub fn seed(&self) -> u64 {
        self.reference().seed
    }

    /// The scenarios that are simulated: one, the compared ones, or every sweep point.
    pub fn scenarios(&self) -> Vec<&Scenario> {
        match &self.job {
            Job::Run(s) => vec![s],
            Job::Compare(s) => s.iter().collect(),
            Job::Sweep(sw) => sw.points.iter().map(|p| &p.scenario).collect(),
        }
    }

    /// What each run keeps: trajectories, or only final values for a sweep.
    pub fn keep(&self) -> Keep {
        match self.job {
            Job::Sweep(_) => Keep::Final,
            _ => Keep::Trajectory,
        }
    }

    /// Worker threads the batch will use.
    pub fn threads(&self) -> usize {
        self.options.threads.unwrap_or_else(batch::default_threads)
    }

    /// The name of the job's output folder: the scenario's name, `compare_A_vs_B`, `sweep_NAME`.
    pub fn name(&self) -> String {
        match (&self.job, &self.explore) {
            (Job::Sweep(sw), Some(e)) => super::outcome::explore_folder_name(&sw.base, e),
            (Job::Sweep(sw), None) => folder_name(&[&sw.base], true),
            _ => folder_name(&self.scenarios(), false),
        }
    }

    /// `outputs/<name>/`, or `outputs/<name>.shard-K-of-N/` for a shard.
    pub fn default_out(&self) -> PathBuf {
        let name = match self.options.shard {
            Some(s) => format!("{}.shard-{}-of-{}", self.name(), s.index, s.count),
            None => self.name(),
        };
        Path::new("outputs").join(name)
    }

    /// The expected work and peak memory of the batch.
    pub fn estimate(&self) -> Estimate {
        batch::estimate(&self.scenarios(), self.runs(), self.threads(), self.keep())
    }

    /// Refuses a batch whose estimated peak memory exceeds [`MEMORY_SHARE`] of what `limit`
    /// leaves (the tightest of available memory, cgroup and rlimit: [`super::system`]), unless
    /// [`BatchOptions::force`]; the message names the limit and says what to change.
    pub fn check_memory(&self, limit: Option<&super::system::MemoryLimit>) -> Result<()> {
        let (Some(limit), est) = (limit, self.estimate()) else {
            return Ok(());
        };
        let available = limit.bytes;
        if est.peak_bytes <= MEMORY_SHARE * available || self.options.force {
            return Ok(());
        }
        let agents: f64 = self
            .scenarios()
            .iter()
            .map(|s| batch::agents_ever(s))
            .fold(0.0, f64::max);
        Err(Error::input(
            None,
            format!(
                "this batch needs about {:.1} GB at its peak ({} runs in flight with up to {agents:.0} agents each, \
                 plus the per-sample statistics), more than 80 % of the {:.2} GB this process may still use \
                 (limited by {}): reduce the agents (segments[].agents), raise sample_every_days, lower --threads, \
                 or pass --force to run anyway",
                est.peak_bytes / 1e9,
                self.threads(),
                available / 1e9,
                limit.source
            ),
        ))
    }

    /// The line `-v` shows before a batch: threads, work and memory.
    pub fn describe_estimate(&self, available: Option<f64>) -> String {
        let est = self.estimate();
        format!(
            "{} threads; estimate: {:.3e} decisions per run, {:.3e} in all, peak memory about {:.0} MB{}",
            self.threads(),
            est.decisions_per_run,
            est.decisions_total,
            est.peak_bytes / 1e6,
            available.map_or(String::new(), |a| format!(
                " of {:.1} GB available",
                a / 1e9
            ))
        )
    }

    /// The line that announces the job, writing into `out` (`None`: in memory).
    pub(super) fn describe(&self, out: Option<&Path>) -> String {
        let shard = self
            .options
            .shard
            .map_or(String::new(), |s| format!(" (shard {s})"));
        let into = out.map_or(", in memory".to_string(), |o| {
            format!(", writing {}", o.display())
        });
        let (runs, seed) = (self.runs(), self.seed());
        match &self.job {
            Job::Run(s) => format!(
                "scenario {:?}: {runs} runs, seed {seed}{shard}{into}",
                s.name
            ),
            Job::Compare(s) => {
                let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
                format!(
                    "comparing {} with {}: {runs} runs each, seed {seed}{shard}{into}",
                    names[1..].join(", "),
                    names[0],
                )
            }
            Job::Sweep(sw) => {
                let what = match (&self.explore, &sw.design) {
                    (Some(e), _) => e.command().replace("discover", "discovery"),
                    (None, _) => "sweep".to_string(),
                };
                let points = match &sw.design {
                    Some(d) => {
                        format!("{} points of a {} design", sw.points.len(), d.method.name())
                    }
                    None => format!("{} points", sw.points.len()),
                };
                // A shard does its share of the (point, block) units.
                let share = self.options.shard.map_or(1.0, |sh| {
                    let total = sw.points.len() as u64 * batch::blocks::blocks(runs);
                    let mine = sh.units(total);
                    (mine.end - mine.start) as f64 / total.max(1) as f64
                });
                let seconds = self.estimate().seconds(self.threads()) * share;
                format!(
                    "{what} of {:?}: {points} × {runs} runs, seed {seed}{shard}, over {}{}; about {} on {} threads (at {:.1} M decisions/s per thread)",
                    sw.base.name,
                    sw.fields.join(", "),
                    into.replacen(',', ";", 1),
                    batch::duration(seconds),
                    self.threads(),
                    batch::DECISIONS_PER_SECOND_PER_THREAD / 1e6
                )
            }
        }
    }
}
