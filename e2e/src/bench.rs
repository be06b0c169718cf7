//! The load driver: N full SP-initiated logins (SP → Rosetta → OpenID provider → Rosetta →
//! SP validator) over C concurrent user agents, bounded in count and time, loopback only.
//! Every response is validated by the SP; Rosetta's CPU time is read from `/proc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Stack;
use crate::fast_peers::{FAST_USER, FastOp, FastSp};
use crate::world::{
    World, add_corp_source, idp_details, run as cli_json, start_rosetta, start_rosetta_with, world_with,
};

/// Which peers the logins go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Peers {
    /// The Node.js `oidc-provider` and `@node-saml/node-saml` (the default): real peers, but
    /// they saturate this 2-core machine at about 60 logins/s.
    #[default]
    Node,
    /// [`crate::fast_peers`]: an in-process provider and an SP that verifies with
    /// libxmlsec1, light enough for a few hundred logins/s (the latency bar).
    Fast,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Logins to run.
    pub logins: usize,
    /// Concurrent user agents.
    pub concurrency: usize,
    /// No login starts after this long.
    pub time_limit: Duration,
    /// Steady load: start logins at this many per second (login `n` at `n / rate` s),
    /// with at most `concurrency` in flight; `None`: each user agent goes flat out.
    pub rate: Option<f64>,
    /// The provider and SP the logins go through.
    pub peers: Peers,
    /// Rosetta alone on CPU 0, the driver and the peers on the other CPUs (`taskset`), so
    /// Rosetta's CPU per login is measured without the peers competing for its core.
    pub pin: bool,
    /// Rosetta runs under valgrind's callgrind (`scripts/bench-instructions.sh` makes
    /// `ROSETTA_BIN` such a wrapper): its instruction counters are zeroed after the warm-up
    /// login and read after the last one.
    pub callgrind: bool,
    /// The SP has a provisioning target (a local SCIM server): every login queues a push,
    /// which the worker sends off the response path. The report counts what the directory
    /// received.
    pub provisioning: bool,
    /// Fast peers only: the SP's mapping is [`TEN_RULES_AND_GROUPS`] and the source reads
    /// the `groups` claim (issue 23's benchmark).
    pub mapping: bool,
    /// The tenant's cap on login traces (`login_trace_max`; 5000 by default): the report
    /// says how many the tenant holds after the run.
    pub trace_max: u64,
}

/// Ten attribute rules of every kind (user values, claim paths, a namespaced claim, first-of,
/// lowercase, replace-domain and regex transforms, a static value, the groups) and a groups
/// rule that filters and renames: what `--mapping` installs.
pub const TEN_RULES_AND_GROUPS: &str = r#"{
  "name_id": {"value": {"from": "first_of", "paths": ["upn", "email"]}, "transforms": [{"op": "lowercase"}]},
  "attributes": [
    {"name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri", "value": {"from": "user", "value": "email"}},
    {"name": "department", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "claim", "path": "department"}},
    {"name": "department_lc", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "claim", "path": "department"}, "transforms": [{"op": "lowercase"}]},
    {"name": "country", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "claim", "path": "address.country"}},
    {"name": "roles", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "claim", "path": "https://acme.example/roles"}, "multi_valued": true},
    {"name": "atlassian_email", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "user", "value": "email"}, "transforms": [{"op": "replace_domain", "domain": "acme.example"}]},
    {"name": "employee_number", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "claim", "path": "employee_id"}, "transforms": [{"op": "regex", "pattern": "^E-(\\d+)$"}]},
    {"name": "tier", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "static", "values": ["gold"]}},
    {"name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri", "value": {"from": "user", "value": "user_id"}},
    {"name": "groups", "name_format": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "value": {"from": "groups"}, "multi_valued": true}
  ],
  "groups": {"allow": ["eng-*", "admins", "all-staff"], "rename": [{"from": "eng-all", "to": "jira-software-users"}, {"from": "admins", "to": "site-admins"}], "provision": true}
}"#;

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort();
        let at = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i].as_secs_f64() * 1000.0
        };
        Self {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `sqlite+memory` or `postgres+redis`.
    pub stack: String,
    /// `node` (oidc-provider, node-saml) or `fast` (in-process provider and xmlsec SP).
    pub peers: String,
    /// The `rosetta` binary measured.
    pub binary: String,
    /// Logins asked for.
    pub logins_requested: usize,
    /// Logins whose response the SP accepted.
    pub logins_ok: usize,
    /// Logins that failed anywhere, with the first few reasons.
    pub failures: usize,
    /// The first failure messages.
    pub failure_samples: Vec<String>,
    /// Concurrent user agents.
    pub concurrency: usize,
    /// Wall time of the measured run, seconds.
    pub seconds: f64,
    /// Completed logins per second.
    pub logins_per_second: f64,
    /// The whole login as the user agent sees it (SP, Rosetta, provider, SP).
    pub full_login_ms: Percentiles,
    /// Rosetta's first leg: AuthnRequest in, redirect to the provider out.
    pub rosetta_sso_ms: Percentiles,
    /// Rosetta's second leg: the provider's callback in, signed Response out.
    pub rosetta_callback_ms: Percentiles,
    /// Both of Rosetta's legs of each login added up: what Rosetta adds to a login (with
    /// the provider's token endpoint, which the callback leg waits for).
    pub rosetta_legs_ms: Percentiles,
    /// Rosetta's CPU time (user + system) per login, milliseconds.
    pub rosetta_cpu_ms_per_login: f64,
    /// With `--provisioning`: SCIM requests the directory received during the run.
    pub scim_requests: Option<u64>,
    /// Context switches of Rosetta's threads per login (voluntary and not).
    pub rosetta_context_switches_per_login: f64,
    /// Whether Rosetta had CPU 0 to itself.
    pub pinned: bool,
    /// This machine's RSA-2048 signature, µs (`openssl speed rsa2048` on Rosetta's CPU,
    /// right before and right after the run, averaged); `None` without the `openssl` tool.
    pub rsa2048_sign_us: Option<f64>,
    /// Rosetta's CPU per login in RSA-2048 signatures of this machine: a figure that does
    /// not move with the VM's speed as the milliseconds do.
    pub rosetta_cpu_signatures_per_login: Option<f64>,
    /// Rosetta's CPU per login scaled to a machine signing in 260 µs, the speed the
    /// 1.5 ms bar was set on (performance issue): signatures per login × 0.26 ms.
    pub rosetta_cpu_ms_at_260us_per_signature: Option<f64>,
    /// With `--callgrind`: instructions Rosetta executed per login in user space, all
    /// threads (kernel time is not counted). Exact and independent of the machine's speed:
    /// for comparing commits, not a CPU time.
    pub rosetta_instructions_per_login: Option<f64>,
    /// Rosetta's resident memory before the run, KiB.
    pub rosetta_idle_rss_kib: u64,
    /// Rosetta's peak resident memory, KiB.
    pub rosetta_peak_rss_kib: u64,
    /// The steady rate asked for (logins/s), if any.
    pub target_rate: Option<f64>,
    /// Rosetta's resident memory every 10 s of the run, KiB (flat under steady load).
    pub rosetta_rss_samples_kib: Vec<u64>,
    /// Login traces the tenant holds after the run (one per login, the warm-up's included,
    /// at most the cap, `--trace-max`), and that cap; `None` for a build without traces.
    pub login_traces: Option<(u64, u64)>,
}

fn proc_field(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// User + system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Context switches of every thread of `pid` so far.
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .map(|status| {
            status
                .lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches:") || l.starts_with("nonvoluntary_ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>()
        })
        .sum()
}

/// Puts every thread of `pid` on `cpus` (a `taskset` list such as `0` or `1-3`).
fn pin(pid: u32, cpus: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "taskset: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Runs `callgrind_control ARGS PID` against the callgrind run `pid`; its output.
fn callgrind_control(pid: u32, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "callgrind_control: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The instructions of every thread of the callgrind run `pid` since its counters were
/// zeroed (`callgrind_control -z`). Also asks callgrind to write its profile of them (to
/// its `--callgrind-out-file`, for `callgrind_annotate`).
fn callgrind_instructions(pid: u32) -> anyhow::Result<u64> {
    let totals = parse_callgrind_totals(&callgrind_control(pid, &["-e", "Ir"])?)
        .ok_or_else(|| anyhow::anyhow!("callgrind_control printed no thread totals (is Rosetta under callgrind?)"))?;
    callgrind_control(pid, &["--dump=logins"])?;
    Ok(totals)
}

/// The sum of the `Th N <count>` rows under `Totals:` of `callgrind_control -e Ir`.
fn parse_callgrind_totals(text: &str) -> Option<u64> {
    let mut rows = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Totals:"))
        .skip(1);
    let mut sum = None;
    for row in rows.by_ref() {
        let mut fields = row.split_whitespace();
        if fields.next() != Some("Th") {
            break;
        }
        let count: u64 = fields.nth(1)?.replace(',', "").parse().ok()?;
        sum = Some(sum.unwrap_or(0) + count);
    }
    sum
}

/// The RSA speed the issue's bar was set on: 260 µs per RSA-2048 signature.
pub const REFERENCE_SIGN_US: f64 = 260.0;

/// Microseconds per RSA-2048 signature, read from `openssl speed rsa2048` (run on CPU 0,
/// Rosetta's, when pinned). `None` when the tool is missing or prints something else.
fn rsa2048_sign_us(pinned: bool) -> Option<f64> {
    let mut cmd = if pinned {
        let mut c = std::process::Command::new("taskset");
        c.args(["-c", "0", "openssl"]);
        c
    } else {
        std::process::Command::new("openssl")
    };
    let out = cmd.args(["speed", "-seconds", "1", "rsa2048"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    parse_openssl_speed(&String::from_utf8_lossy(&out.stdout))
}

/// [`rsa2048_sign_us`] off the runtime's worker threads (it runs for about two seconds).
async fn measure_sign_us(pinned: bool) -> anyhow::Result<Option<f64>> {
    Ok(tokio::task::spawn_blocking(move || rsa2048_sign_us(pinned)).await?)
}

/// The sign time of the `rsa 2048 bits 0.000487s 0.000021s ...` row, in µs.
fn parse_openssl_speed(text: &str) -> Option<f64> {
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("rsa") && l.contains("2048 bits"))?;
    let after = row.split_once("bits")?.1;
    let seconds: f64 = after.split_whitespace().next()?.strip_suffix('s')?.parse().ok()?;
    (seconds > 0.0).then_some(seconds * 1e6)
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A fresh user agent: its own cookie jar, `*.localhost` on loopback, no redirects.
/// A user agent with its own cookie jar, no automatic redirects, and the `*.localhost`
/// names of the deployment on `port` mapped to loopback (as Chromium does).
pub fn user_agent(port: u16) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30));
    for host in ["acme.localhost", "localhost"] {
        b = b.resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Ok(b.build()?)
}

/// The redirect's `Location`.
pub fn location(res: &reqwest::Response) -> anyhow::Result<String> {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("expected a redirect, got HTTP {}", res.status()))
}

/// The value of the hidden field `name` of an auto-post page, unescaped.
pub fn form_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// How long one login took, whole and Rosetta's two legs.
pub struct Timings {
    /// The whole login, SP link to validated response.
    pub full: Duration,
    /// AuthnRequest → redirect to the provider.
    pub sso: Duration,
    /// Provider's callback → signed Response.
    pub callback: Duration,
}

/// The readable text of a page's `<main>` (or the page's start), tags removed.
fn page_text(page: &str) -> String {
    let main = match (page.find("<main>"), page.find("</main>")) {
        (Some(a), Some(b)) if a < b => &page[a..b],
        _ => page,
    };
    let mut text = String::new();
    let mut in_tag = false;
    for c in main.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(400).collect()
}

/// A refusal's status and what its page says, for error messages.
async fn refusal(leg: &str, res: reqwest::Response) -> anyhow::Error {
    let status = res.status();
    let page = res.text().await.unwrap_or_default();
    anyhow::anyhow!("{leg} answered HTTP {status}: {}", page_text(&page))
}

/// Rosetta's first leg: the SP's request in, the redirect to the provider out (with how
/// long it took).
async fn sso_leg(ua: &reqwest::Client, sso: &str) -> anyhow::Result<(String, Duration)> {
    let t = Instant::now();
    let res = ua.get(sso).send().await?;
    if res.status() != 302 {
        return Err(refusal("SSO", res).await);
    }
    Ok((location(&res)?, t.elapsed()))
}

/// Rosetta's second leg: the provider's callback in, the auto-posting page out (with how
/// long it took).
async fn callback_leg(ua: &reqwest::Client, callback: &str) -> anyhow::Result<(String, Duration)> {
    let t = Instant::now();
    let res = ua.get(callback).send().await?;
    if res.status() != 200 {
        return Err(refusal("callback", res).await);
    }
    let html = res.text().await?;
    Ok((html, t.elapsed()))
}

/// One full SP-initiated login in a fresh user agent; the SP validates the response. An
/// error names the leg, the status and the start of the page the user saw.
pub async fn one_login(w: &World, n: usize) -> anyhow::Result<Timings> {
    let started = Instant::now();
    let ua = user_agent(w.rosetta.port())?;
    let relay = format!("bench-{n}");
    let res = ua.get(w.jira.login_url(&relay)).send().await?;
    let sso = location(&res)?;
    let (authorize, sso_leg) = sso_leg(&ua, &sso).await?;
    let callback = w.op.scripted_login(&ua, &authorize, "ada-sub").await?;
    let (html, callback_leg) = callback_leg(&ua, callback.as_str()).await?;
    let response = form_field(&html, "SAMLResponse").ok_or_else(|| anyhow::anyhow!("no SAMLResponse"))?;
    let verdict = w
        .jira
        .post_response(&response, form_field(&html, "RelayState").as_deref())
        .await?;
    anyhow::ensure!(verdict.ok, "the SP refused the response: {:?}", verdict.error);
    anyhow::ensure!(
        verdict.relay_state.as_deref() == Some(relay.as_str()),
        "RelayState changed"
    );
    Ok(Timings {
        full: started.elapsed(),
        sso: sso_leg,
        callback: callback_leg,
    })
}

/// Rosetta with the in-process peers: tenant `acme`, source `corp` at the [`FastOp`], and
/// an SP with the Atlassian preset played by the [`FastSp`].
pub struct FastWorld {
    /// Rosetta.
    pub rosetta: crate::Rosetta,
    /// The provider.
    pub op: FastOp,
    /// The SP.
    pub sp: FastSp,
    /// The database and store the deployment uses.
    pub stack: Stack,
}

/// Starts Rosetta on `stack` and the fast peers, and configures the tenant.
pub async fn fast_world(stack: Stack) -> anyhow::Result<FastWorld> {
    fast_world_with(start_rosetta(&stack).await, stack).await
}

/// [`fast_world`] around an already started Rosetta.
pub async fn fast_world_with(rosetta: crate::Rosetta, stack: Stack) -> anyhow::Result<FastWorld> {
    let callback = format!("http://acme.localhost:{}/oidc/callback/corp", rosetta.port());
    let op = FastOp::start("rosetta", "fast-client-secret", &callback)?;
    cli_json(&rosetta, rosetta.env(), &["tenant", "create", "acme", "--json"]).await;
    add_corp_source(&rosetta, op.issuer(), "fast-client-secret").await;
    let (entity_id, acs_url) = ("https://fast-sp.example/saml", "https://fast-sp.example/saml/acs");
    let sp = [
        "sp",
        "add",
        "acme",
        "--name",
        "fast",
        "--preset",
        "atlassian",
        "--entity-id",
        entity_id,
        "--acs-url",
        acs_url,
        "--json",
    ];
    cli_json(&rosetta, rosetta.env(), &sp).await;
    let idp = idp_details(&rosetta, "acme").await;
    let sp = FastSp::new(entity_id, acs_url, &idp.sso_url, &idp.entity_id, &idp.cert_pem)?;
    Ok(FastWorld { rosetta, op, sp, stack })
}

/// One full SP-initiated login through the fast peers, in a fresh user agent; the SP
/// validates the response.
pub async fn one_fast_login(w: &FastWorld, n: usize) -> anyhow::Result<Timings> {
    let started = Instant::now();
    let ua = user_agent(w.rosetta.port())?;
    let relay = format!("bench-{n}");
    let (request_id, sso) = w.sp.login_url(&relay)?;
    let (authorize, sso_leg) = sso_leg(&ua, &sso).await?;
    let callback = location(&ua.get(&authorize).send().await?)?;
    let (html, callback_leg) = callback_leg(&ua, &callback).await?;
    let response = form_field(&html, "SAMLResponse").ok_or_else(|| anyhow::anyhow!("no SAMLResponse"))?;
    anyhow::ensure!(
        html.contains(&format!("action=\"{}\"", w.sp.acs_url)),
        "the form does not post to the ACS"
    );
    let verdict = w.sp.validate(&response, &request_id)?;
    anyhow::ensure!(verdict.name_id == FAST_USER.1, "NameID {}", verdict.name_id);
    anyhow::ensure!(
        form_field(&html, "RelayState").as_deref() == Some(relay.as_str()),
        "RelayState changed"
    );
    Ok(Timings {
        full: started.elapsed(),
        sso: sso_leg,
        callback: callback_leg,
    })
}

/// A running world of either kind.
enum Driven {
    Node(Box<World>),
    Fast(Box<FastWorld>),
}

impl Driven {
    fn rosetta(&self) -> &crate::Rosetta {
        match self {
            Self::Node(w) => &w.rosetta,
            Self::Fast(w) => &w.rosetta,
        }
    }

    fn pid(&self) -> Option<u32> {
        self.rosetta().pid()
    }

    async fn login(&self, n: usize) -> anyhow::Result<Timings> {
        match self {
            Self::Node(w) => one_login(w, n).await,
            Self::Fast(w) => one_fast_login(w, n).await,
        }
    }
}

/// Starts the world on `stack` and runs the logins.
pub async fn run(stack: Stack, options: &BenchOptions) -> anyhow::Result<BenchReport> {
    let label = stack.label();
    if options.pin {
        // The driver and everything it starts (the peers) leave CPU 0 to Rosetta.
        // Every CPU of the machine (the process's own affinity may already be narrowed).
        let cpus = std::fs::read_to_string("/proc/cpuinfo")
            .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
            .unwrap_or(1);
        anyhow::ensure!(cpus >= 2, "--pin needs at least two CPUs");
        pin(std::process::id(), &format!("1-{}", cpus - 1))?;
    }
    let cap = options.trace_max.to_string();
    let rosetta = start_rosetta_with(&stack, &[("ROSETTA_LOGIN_TRACE_MAX", cap.as_str())]).await;
    let w = Arc::new(match options.peers {
        Peers::Node => Driven::Node(Box::new(world_with(rosetta, stack).await)),
        Peers::Fast => Driven::Fast(Box::new(fast_world_with(rosetta, stack).await?)),
    });
    let pid = w.pid().ok_or_else(|| anyhow::anyhow!("rosetta is not running"))?;
    if options.pin {
        pin(pid, "0")?;
    }
    if options.mapping {
        let Driven::Fast(fast) = w.as_ref() else {
            anyhow::bail!("--mapping needs --peers fast");
        };
        let file = fast.rosetta.data_dir().join("mapping.json");
        std::fs::write(&file, TEN_RULES_AND_GROUPS)?;
        let path = file.to_str().ok_or_else(|| anyhow::anyhow!("a UTF-8 path"))?;
        let env = fast.rosetta.env();
        cli_json(
            &fast.rosetta,
            env,
            &["source", "set", "acme", "corp", "--groups-claim", "groups", "--json"],
        )
        .await;
        cli_json(
            &fast.rosetta,
            env,
            &["sp", "mapping", "acme", "fast", "--set", path, "--json"],
        )
        .await;
    }
    let scim = if options.provisioning {
        let (rosetta, sp) = match w.as_ref() {
            Driven::Node(w) => (&w.rosetta, "jira"),
            Driven::Fast(w) => (&w.rosetta, "fast"),
        };
        Some(crate::bench_provisioning::provision(rosetta, sp).await?)
    } else {
        None
    };
    // One login first: discovery, JWKS and key caches are filled, as in steady state.
    w.login(0).await?;
    let sign_before = measure_sign_us(options.pin).await?;
    let idle_rss = proc_field(pid, "status", "VmRSS:").unwrap_or(0);
    if options.callgrind {
        callgrind_control(pid, &["-z"])?;
    }
    let cpu_before = cpu_ticks(pid).unwrap_or(0);
    let switches_before = context_switches(pid);
    let next = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + options.time_limit;
    let started = Instant::now();
    let (done, mut stop) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = tick.tick() => samples.extend(proc_field(pid, "status", "VmRSS:")),
                _ = stop.changed() => return samples,
            }
        }
    });
    let mut workers = Vec::new();
    for _ in 0..options.concurrency.max(1) {
        let (w, next, total, rate) = (w.clone(), next.clone(), options.logins, options.rate);
        workers.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if let Some(rate) = rate {
                    // The pace of a steady load, not a wait for something to happen.
                    let at = started + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(at.into()).await;
                }
                if n >= total || Instant::now() >= deadline {
                    return results;
                }
                results.push(w.login(n + 1).await.map_err(|e| format!("{e:#}")));
            }
        }));
    }
    let mut results = Vec::new();
    for worker in workers {
        results.extend(worker.await?);
    }
    // Time and CPU end with the last login, not with the sampler's next tick.
    let seconds = started.elapsed().as_secs_f64();
    let scim_requests = scim.as_ref().map(crate::ScimServer::requests);
    let cpu_after = cpu_ticks(pid).unwrap_or(0);
    let switches = context_switches(pid).saturating_sub(switches_before);
    let instructions = if options.callgrind {
        Some(callgrind_instructions(pid)?)
    } else {
        None
    };
    let _ = done.send(true);
    let mut rss_samples = sampler.await?;
    rss_samples.extend(proc_field(pid, "status", "VmRSS:"));
    let peak_rss = proc_field(pid, "status", "VmHWM:").unwrap_or(0);
    let sign_after = measure_sign_us(options.pin).await?;
    let sign_us = sign_before.zip(sign_after).map(|(a, b)| (a + b) / 2.0);
    let (ok, failed): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let ok: Vec<Timings> = ok.into_iter().filter_map(Result::ok).collect();
    let failures: Vec<String> = failed.into_iter().filter_map(Result::err).collect();
    let cpu_ms = (cpu_after.saturating_sub(cpu_before)) as f64 * 1000.0 / clock_ticks_per_second();
    let cpu_per_login = cpu_ms / (ok.len() + failures.len()).max(1) as f64;
    let login_traces = traces_kept(w.rosetta(), (ok.len() + failures.len() + 1) as u64, options.trace_max).await;
    let signatures = sign_us.map(|us| cpu_per_login * 1000.0 / us);
    Ok(BenchReport {
        stack: label,
        peers: match options.peers {
            Peers::Node => "node",
            Peers::Fast => "fast",
        }
        .into(),
        binary: crate::rosetta_bin().display().to_string(),
        logins_requested: options.logins,
        logins_ok: ok.len(),
        failures: failures.len(),
        failure_samples: failures.iter().take(5).cloned().collect(),
        concurrency: options.concurrency,
        seconds,
        logins_per_second: ok.len() as f64 / seconds.max(f64::EPSILON),
        full_login_ms: Percentiles::of(ok.iter().map(|t| t.full).collect()),
        rosetta_sso_ms: Percentiles::of(ok.iter().map(|t| t.sso).collect()),
        rosetta_callback_ms: Percentiles::of(ok.iter().map(|t| t.callback).collect()),
        rosetta_legs_ms: Percentiles::of(ok.iter().map(|t| t.sso + t.callback).collect()),
        rosetta_cpu_ms_per_login: cpu_per_login,
        scim_requests,
        rosetta_context_switches_per_login: switches as f64 / (ok.len() + failures.len()).max(1) as f64,
        pinned: options.pin,
        rsa2048_sign_us: sign_us,
        rosetta_cpu_signatures_per_login: signatures,
        rosetta_cpu_ms_at_260us_per_signature: signatures.map(|n| n * REFERENCE_SIGN_US / 1000.0),
        rosetta_instructions_per_login: instructions.map(|n| n as f64 / (ok.len() + failures.len()).max(1) as f64),
        rosetta_idle_rss_kib: idle_rss,
        rosetta_peak_rss_kib: peak_rss,
        target_rate: options.rate,
        rosetta_rss_samples_kib: rss_samples,
        login_traces,
    })
}

/// The tenant's login traces once the writer has caught up with `logins` logins (it writes
/// within half a second of each), and the cap they are held to; `None` for a Rosetta
/// without traces (an older build being compared).
async fn traces_kept(rosetta: &crate::Rosetta, logins: u64, cap: u64) -> Option<(u64, u64)> {
    let expected = logins.min(cap);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = crate::cli(rosetta.data_dir(), rosetta.env(), &["trace", "list", "acme", "--json"]).await;
        if !out.status.success() {
            return None;
        }
        let page: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let total = page["total"].as_u64().unwrap_or(0);
        // Exactly: a read between a batch's insert and its trim may see a few more.
        if total == expected || Instant::now() >= deadline {
            return Some((total, cap));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl BenchReport {
    /// A human summary.
    pub fn summary(&self) -> String {
        let p = |x: &Percentiles| {
            format!(
                "p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1} ms",
                x.p50, x.p95, x.p99, x.max
            )
        };
        format!(
            "{stack} ({peers} peers): {ok}/{req} logins ok, {fail} failed, concurrency {c}, {s:.1} s, {lps:.1} logins/s\n  \
full login        {full}\n  Rosetta SSO leg   {sso}\n  Rosetta callback  {cb}\n  Rosetta legs sum  {legs}\n  \
Rosetta CPU {cpu:.3} ms/login{pinned}, {switches:.1} context switches/login; RSS idle {idle} KiB, peak {peak} KiB\n  \
{traces}{rsa}{instructions}{rate}{scim}{samples}",
            stack = self.stack,
            peers = self.peers,
            ok = self.logins_ok,
            req = self.logins_requested,
            fail = self.failures,
            c = self.concurrency,
            s = self.seconds,
            lps = self.logins_per_second,
            full = p(&self.full_login_ms),
            sso = p(&self.rosetta_sso_ms),
            cb = p(&self.rosetta_callback_ms),
            legs = p(&self.rosetta_legs_ms),
            cpu = self.rosetta_cpu_ms_per_login,
            pinned = if self.pinned { " (alone on CPU 0)" } else { "" },
            switches = self.rosetta_context_switches_per_login,
            idle = self.rosetta_idle_rss_kib,
            peak = self.rosetta_peak_rss_kib,
            traces = self
                .login_traces
                .map(|(kept, cap)| format!("login traces kept {kept} (cap {cap})"))
                .unwrap_or_else(|| "no login traces (an older build)".into()),
            rsa = match (
                self.rsa2048_sign_us,
                self.rosetta_cpu_signatures_per_login,
                self.rosetta_cpu_ms_at_260us_per_signature
            ) {
                (Some(us), Some(n), Some(scaled)) => format!(
                    "\n  RSA-2048 signature here {us:.0} µs (openssl speed, before and after): Rosetta CPU = {n:.2} signatures/login = {scaled:.3} ms/login at 260 µs per signature"
                ),
                _ => String::new(),
            },
            instructions = self
                .rosetta_instructions_per_login
                .map(|n| format!("\n  Rosetta instructions per login (callgrind, user space): {n:.0}"))
                .unwrap_or_default(),
            scim = self
                .scim_requests
                .map(|n| format!("\n  provisioning target on: the SCIM directory received {n} request(s)"))
                .unwrap_or_default(),
            rate = self
                .target_rate
                .map(|r| format!("\n  steady rate asked: {r} logins/s"))
                .unwrap_or_default(),
            samples = if self.rosetta_rss_samples_kib.len() > 2 {
                format!("\n  RSS every 10 s (KiB): {:?}", self.rosetta_rss_samples_kib)
            } else {
                String::new()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_speed_rows_are_read_in_microseconds() {
        let three_oh = "version: 3.0.17\n                  sign    verify    sign/s verify/s\nrsa 2048 bits 0.000487s 0.000021s   2053.0  47025.5\n";
        assert_eq!(parse_openssl_speed(three_oh).map(|us| us.round()), Some(487.0));
        let wider = "                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s\nrsa   2048 bits 0.000260s 0.000017s 0.000018s 0.000250s   3846.2  58823.5  55555.6   4000.0\n";
        assert_eq!(parse_openssl_speed(wider).map(|us| us.round()), Some(260.0));
        assert_eq!(parse_openssl_speed("rsa 1024 bits 0.000100s 0.000010s"), None);
        assert_eq!(parse_openssl_speed("nothing"), None);
    }

    #[test]
    fn callgrind_thread_totals_are_added_up() {
        let text = "PID 5596: /tmp/rosetta serve\nsending command status internal to pid 5596\n\n  Totals:        Ir \n   Th 1  11,845,555 \n   Th 2     173,659 \n   Th 9       4,398 \n\n";
        assert_eq!(parse_callgrind_totals(text), Some(11_845_555 + 173_659 + 4_398));
        assert_eq!(parse_callgrind_totals("PID 1: x\n  OK.\n"), None);
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let ms = |v: u64| Duration::from_millis(v);
        let p = Percentiles::of((1..=100).map(ms).collect());
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        let one = Percentiles::of(vec![ms(7)]);
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
        assert_eq!(Percentiles::of(vec![]).p99, 0.0);
    }

    #[test]
    fn cpu_ticks_reads_this_process() {
        assert!(cpu_ticks(std::process::id()).is_some());
    }
}
