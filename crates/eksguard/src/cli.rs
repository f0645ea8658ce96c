//! Command-line definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
pub use eksguard_report::OutputFormat;

#[derive(Debug, Parser)]
#[command(
    name = "eksguard",
    version,
    about = "Checks EKS clusters, Kubernetes manifests and AWS configuration against the EKS Best Practices Guide",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More detail in AWS API errors: the request ID, the attempts made and the start of
    /// the raw error answer.
    #[arg(long, global = true)]
    pub verbose: bool,
}

impl Cli {
    /// The parsed command line, with the report format of `--output FILE` taken from the
    /// file's extension when `--format` is not given.
    pub fn from_matches(matches: &clap::ArgMatches) -> Result<Cli, clap::Error> {
        let mut cli = <Cli as clap::FromArgMatches>::from_arg_matches(matches)?;
        // The matches of the innermost subcommand hold the report's flags.
        let mut m = matches;
        while let Some((_, sub)) = m.subcommand() {
            m = sub;
        }
        let given = m.try_contains_id("format").unwrap_or(false)
            && m.value_source("format") == Some(clap::parser::ValueSource::CommandLine);
        let report = match &mut cli.command {
            Command::Scan(a) => Some(&mut a.report),
            Command::Cluster(a) => Some(&mut a.report),
            Command::Node(a) => Some(&mut a.report),
            Command::Audit(AuditCommand::Scan(a)) => Some(&mut a.report),
            _ => None,
        };
        if let Some(r) = report {
            r.settle_format(given);
        }
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan manifests offline: files, directories (recursive, honours .gitignore) or `-` for stdin.
    Scan(Box<ScanArgs>),
    /// Scan a live cluster: the Kubernetes API through the kubeconfig and, for EKS, the EKS,
    /// IAM and EC2 APIs with the default AWS credential chain.
    Cluster(Box<ClusterArgs>),
    /// Save what `cluster` reads (Secret values removed) to a file for a later `scan`.
    Snapshot(Box<SnapshotArgs>),
    /// Scan every EKS cluster of the given accounts and regions: AWS side and Kubernetes
    /// API, with EKS tokens from IAM (no kubeconfig), a role assumed in each account.
    Fleet(Box<FleetArgs>),
    /// Check the kubelet configuration and files of this node (or of a root tree).
    Node(NodeArgs),
    /// The rule catalog.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Generate policies: Pod Security labels and patches, seccomp profiles, tenants, network
    /// policies, admission policies.
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Workloads and pods that run an image, as a service account or for a workload, with
    /// the nodes they are on (incident response). Exit 1 when nothing matches.
    Find(Box<FindArgs>),
    /// RBAC queries: who may do something, what a subject is bound to, dangerous grants.
    #[command(subcommand)]
    Rbac(RbacCommand),
    /// Kubernetes audit logs (files or CloudWatch Logs): detections, summaries, least-privilege RBAC.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run in the cluster: a validating admission webhook over HTTPS with health, metrics
    /// and, with --scan-interval, a full cluster scan on a timer.
    Serve(Box<ServeArgs>),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write man pages: the command's on standard output, or one per subcommand in DIR.
    Man {
        /// Write `eksguard.1` and a page per subcommand (`eksguard-scan.1`, ...) here.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    Info,
    /// Never exit 1 for findings.
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Output format [default: text, or the one the extension of --output names].
    #[arg(
        long,
        short = 'f',
        value_enum,
        default_value = "text",
        hide_default_value = true
    )]
    pub format: OutputFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity [default: low, or `fail_on` in the config].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Colour in text output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
    /// Print nothing on standard output; the exit status tells the result.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// List suppressed findings with their rule, resource, source and reason (text and
    /// markdown; JSON and SARIF always list them).
    #[arg(long)]
    pub show_suppressed: bool,
    /// Also send the findings to AWS Security Hub (BatchImportFindings), and archive the
    /// findings of an earlier import of the same scope that are gone.
    #[arg(long)]
    pub security_hub: bool,
    /// AWS account of ASFF findings [default: the account of the credentials, from STS].
    #[arg(long, value_name = "ID")]
    pub aws_account: Option<String>,
    /// What ASFF findings belong to: an import archives the gone findings of this scope only
    /// [default: `cluster:` the cluster, `node:` the node, `path:` the paths scanned,
    /// `audit:` the logs].
    #[arg(long, value_name = "NAME")]
    pub security_hub_scope: Option<String>,
    /// Region, profile, endpoint and default scope for ASFF and Security Hub, filled in by
    /// the command from its own flags.
    #[arg(skip)]
    pub aws: AwsReportContext,
}

impl ReportArgs {
    /// With `--output` and no `--format`, the format the file's extension names; a
    /// format at odds with the extension, or an extension naming none, is said on
    /// standard error.
    pub fn settle_format(&mut self, given: bool) {
        let Some(path) = &self.output else { return };
        let named = path
            .extension()
            .and_then(|e| e.to_str())
            .and_then(OutputFormat::of_extension);
        let name = OutputFormat::name;
        let shown = crate::term::shown(path.display());
        match (given, named) {
            (false, Some(f)) => self.format = f,
            (false, None) => eprintln!(
                "warning: {shown}: no report format known by this extension (.sarif, .json, .jsonl, .html, .md, .xml, .txt); writing text (--format sets it)"
            ),
            (true, Some(f)) if f != self.format && !(f == OutputFormat::Json && self.format == OutputFormat::Asff) => {
                eprintln!(
                    "warning: writing {} to {shown}, whose extension suggests {}",
                    name(self.format),
                    name(f)
                )
            }
            (true, _) => {}
        }
    }
}

/// What ASFF output and `--security-hub` need from the command that reports.
#[derive(Debug, Clone, Default)]
pub struct AwsReportContext {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// The scope when `--security-hub-scope` is not given.
    pub scope: String,
}

/// AWS settings of commands that have no others: for `--format asff` and
/// `--security-hub`.
#[derive(Debug, Clone, Args)]
pub struct HubArgs {
    /// AWS region of ASFF findings and Security Hub [default: the AWS configuration].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile of the shared configuration files.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Send Security Hub and STS requests to this AWS-compatible endpoint.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub check: CheckArgs,
    /// Namespace assumed for namespaced objects that name none.
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Glob of paths to skip (repeatable), on top of the config's `exclude`.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Terraform variable file for every Terraform directory scanned (repeatable; later
    /// files win), read after the directory's terraform.tfvars and *.auto.tfvars.
    #[arg(long, value_name = "FILE")]
    pub var_file: Vec<PathBuf>,
    /// Values file passed to `helm template` for every chart directory scanned
    /// (repeatable; later files win).
    #[arg(long, value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,
    /// Value passed to `helm template --set` for every chart directory scanned (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    pub helm_set: Vec<String>,
    #[command(flatten)]
    pub inline: InlineArgs,
    #[command(flatten)]
    pub hub: HubArgs,
}

/// Whether `eksguard.io/ignore` annotations count: for every command that reads objects
/// which can carry them.
#[derive(Debug, Args)]
pub struct InlineArgs {
    /// Ignore `eksguard.io/ignore` annotations in the scanned objects (when reviewing
    /// changes you do not trust); configured suppressions still apply.
    #[arg(long)]
    pub no_inline_suppressions: bool,
}

/// Rule selection, configuration and baseline: shared by every command that reports findings.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Run only these rules (IDs or prefixes, comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Skip these rules (IDs or prefixes).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Configuration file [default: .eksguard.toml in this or a parent directory].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any .eksguard.toml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Report only findings that are not in this baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write all current findings to FILE as a baseline.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// How to reach a live Kubernetes API: shared by `cluster`, `snapshot` and the generators'
/// `--live` mode.
#[derive(Debug, Clone, Args)]
pub struct KubeArgs {
    /// Kubeconfig context [default: the current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Kubeconfig file [default: $KUBECONFIG (several files merged), else ~/.kube/config,
    /// else the in-cluster service account].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Read namespaced resources only in this namespace (generators reading files: the
    /// namespace assumed for objects that name none).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Requests (Kubernetes and AWS) in flight at once.
    #[arg(long, value_name = "N", default_value_t = KubeArgs::CONCURRENCY)]
    pub concurrency: usize,
    /// Seconds to wait for one API response.
    #[arg(long, value_name = "SECS", default_value_t = KubeArgs::REQUEST_TIMEOUT)]
    pub request_timeout: u64,
    /// Items per Kubernetes list page.
    #[arg(long, value_name = "N", default_value_t = KubeArgs::PAGE_SIZE, hide = true)]
    pub page_size: u32,
    /// Largest Kubernetes API response read, in bytes (suffixes KiB, MiB, GiB); a larger
    /// one is an error naming its resource type.
    #[arg(long, value_name = "BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub max_response_bytes: u64,
    /// No progress bar on standard error.
    #[arg(long)]
    pub no_progress: bool,
}

impl KubeArgs {
    pub const CONCURRENCY: usize = 16;
    pub const REQUEST_TIMEOUT: u64 = 30;
    pub const PAGE_SIZE: u32 = 500;
    pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

    /// The defaults of every flag, for a kubeconfig file and context chosen elsewhere.
    pub fn connect(context: Option<String>, kubeconfig: Option<PathBuf>) -> Self {
        KubeArgs {
            context,
            kubeconfig,
            namespace: None,
            concurrency: Self::CONCURRENCY,
            request_timeout: Self::REQUEST_TIMEOUT,
            page_size: Self::PAGE_SIZE,
            max_response_bytes: Self::MAX_RESPONSE_BYTES,
            no_progress: false,
        }
    }
}

/// A byte count: digits, optionally followed by `KiB`, `MiB` or `GiB` (or `K`, `M`, `G`).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a byte count (e.g. 1048576 or 256MiB)"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        other => return Err(format!("unknown unit `{other}` (B, KiB, MiB or GiB)")),
    };
    match n.checked_mul(1 << shift) {
        Some(0) => Err("must be more than 0 bytes".into()),
        Some(v) => Ok(v),
        None => Err(format!("`{s}` is too large")),
    }
}

/// The AWS side of a live scan.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Read the cluster through the EKS, IAM and EC2 APIs too (on when the kubeconfig
    /// context is an EKS cluster ARN or --cluster-name is given).
    #[arg(long)]
    pub aws: bool,
    /// Read only the AWS side, not the Kubernetes API.
    #[arg(long, conflicts_with = "no_aws")]
    pub aws_only: bool,
    /// Never read AWS, even for an EKS context.
    #[arg(long)]
    pub no_aws: bool,
    /// EKS cluster name or ARN [default: from the EKS context ARN]. Without --context and
    /// --kubeconfig, the Kubernetes API is reached at the endpoint EKS gives, with a token
    /// from the AWS credentials.
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    #[command(flatten)]
    pub conn: AwsConnect,
}

/// Where and as whom AWS is called: shared by `cluster` and `fleet`.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsConnect {
    /// AWS region [default: from the EKS context ARN, else the AWS configuration].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile of the shared configuration files.
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Send every AWS request to this AWS-compatible endpoint.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub inline: InlineArgs,
}

/// `eksguard fleet`: which accounts and regions, and how to enter them.
#[derive(Debug, Args)]
#[command(mut_arg("region", |a| a.help(
    "Region of the STS, Organizations and DescribeRegions calls [default: the AWS \
     configuration]"
)))]
pub struct FleetArgs {
    /// Regions to list clusters in (comma-separated) [default: the configured region].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "REGIONS",
        conflicts_with = "all_regions"
    )]
    pub regions: Vec<String>,
    /// Every region enabled in each account (EC2 DescribeRegions).
    #[arg(long)]
    pub all_regions: bool,
    /// Accounts to scan (comma-separated) [default: the account of the credentials].
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "IDS",
        conflicts_with = "org"
    )]
    pub accounts: Vec<String>,
    /// Every active account of the organization (Organizations ListAccounts, from the
    /// management account or a delegated administrator).
    #[arg(long)]
    pub org: bool,
    /// Role assumed in each account other than the caller's (session name `eksguard`).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// External ID the role's trust policy requires.
    #[arg(long, value_name = "ID", requires = "role_name")]
    pub external_id: Option<String>,
    /// Clusters read at once, and requests in flight within each.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,
    /// Judge only the AWS side (no Kubernetes API calls): for identities not mapped in
    /// the clusters.
    #[arg(long)]
    pub aws_only: bool,
    #[command(flatten)]
    pub conn: AwsConnect,
    /// Seconds to wait for one Kubernetes API response.
    #[arg(long, value_name = "SECS", default_value_t = KubeArgs::REQUEST_TIMEOUT)]
    pub request_timeout: u64,
    /// Largest Kubernetes API response read, in bytes (suffixes KiB, MiB, GiB).
    #[arg(long, value_name = "BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub max_response_bytes: u64,
    /// No progress bars on standard error.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub inline: InlineArgs,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The snapshot file to write (JSON).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The node's root file system (a host mount when run in a pod).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The kubelet configuration file, as a path on this machine [default: from the
    /// kubelet command line, else the EKS AMI locations under --root].
    #[arg(long, value_name = "FILE")]
    pub kubelet_config: Option<PathBuf>,
    /// The kubelet's kubeconfig, as a path on this machine [default: found like the config].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub check: CheckArgs,
    #[command(flatten)]
    pub inline: InlineArgs,
    #[command(flatten)]
    pub hub: HubArgs,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List every rule.
    List {
        #[arg(long, short = 'f', value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Show a rule's documentation.
    Explain {
        /// Rule ID (POD001) or name (privileged-container).
        rule: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Pod Security Standards level per namespace, as Namespace labels (blockers as comments
    /// and on standard error), or with --patch least-privilege securityContext patches.
    PodSecurity(PodSecurityArgs),
    /// A seccomp profile allowing the syscalls of strace traces or syscall lists.
    Seccomp(SeccompArgs),
    /// A tenant namespace with quota, limits, RBAC, network policies and Pod Security labels.
    Tenant(TenantArgs),
    /// Default-deny, DNS and per-Service NetworkPolicies for each namespace.
    NetworkPolicy(NetworkPolicyArgs),
    /// ValidatingAdmissionPolicies (CEL) enforcing the pod and container rules CEL can
    /// express, so the API server denies or warns without a webhook.
    AdmissionPolicy(AdmissionPolicyArgs),
    /// A deny-all NetworkPolicy that cuts one pod off the network (incident response), the
    /// label to add to the pod, and the existing policies that would still let traffic through.
    Isolate(IsolateArgs),
}

#[derive(Debug, Args)]
pub struct FindArgs {
    /// Image: a reference or a repository, `*` matching any characters (`nginx`,
    /// `*/shop/*`, `nginx:1.27`); a repository matches every tag and digest.
    #[arg(long, value_name = "PATTERN")]
    pub image: Option<String>,
    /// Service account: `NAME` in any namespace, or `NAMESPACE/NAME`.
    #[arg(long, value_name = "[NS/]NAME")]
    pub service_account: Option<String>,
    /// Workload: `NAME` or `KIND/NAME`; its ReplicaSets, Jobs and pods match too.
    #[arg(long, value_name = "[KIND/]NAME")]
    pub workload: Option<String>,
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub input: FindInput,
}

/// Where `find` reads objects from, and where it writes.
#[derive(Debug, Args)]
pub struct FindInput {
    /// Files or directories to read; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".", conflicts_with = "live")]
    pub paths: Vec<PathBuf>,
    /// Read the objects from the live cluster of the kubeconfig instead of files.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Write the result to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IsolateArgs {
    /// The pod to isolate.
    #[arg(value_name = "NAMESPACE/POD")]
    pub target: String,
    #[command(flatten)]
    pub input: GenerateInput,
}

#[derive(Debug, Args)]
pub struct AdmissionPolicyArgs {
    /// Deny objects breaking a rule at or above this severity.
    #[arg(long, value_enum, default_value = "high", value_name = "SEV")]
    pub deny_on: FailOn,
    /// Warn about rules at or above this severity (and below --deny-on).
    #[arg(long, value_enum, default_value = "low", value_name = "SEV")]
    pub warn_on: FailOn,
    /// Namespace the bindings leave out (repeatable; replaces the default).
    #[arg(
        long = "exempt-namespace",
        value_name = "NS",
        default_value = "kube-system"
    )]
    pub exempt_namespaces: Vec<String>,
    /// Prefix of the generated objects' names (`PREFIX-deny`, `PREFIX-warn`).
    #[arg(long, value_name = "PREFIX", default_value = "eksguard")]
    pub name: String,
    /// Only these rules (IDs or prefixes, comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Leave out these rules (IDs or prefixes).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Configuration file for rule selection and severity overrides [default: .eksguard.toml
    /// in this or a parent directory].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore any .eksguard.toml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Write the YAML to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SeccompArgs {
    /// strace output (`strace -f -o FILE`, or `-ff` per-process files) or a list of
    /// syscall names, one a line.
    #[arg(value_name = "TRACE", required = true)]
    pub traces: Vec<PathBuf>,
    /// Write the profile to FILE instead of standard output; its stem names the profile.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Architectures the profile serves (x86_64, aarch64), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "x86_64,aarch64")]
    pub arch: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TenantArgs {
    /// Tenant (and namespace) name; omit with --file.
    #[arg(value_name = "NAME", required_unless_present = "file")]
    pub name: Option<String>,
    /// RBAC group given the tenant role (repeatable).
    #[arg(long = "group", value_name = "G")]
    pub groups: Vec<String>,
    /// User given the tenant role (repeatable).
    #[arg(long = "user", value_name = "U")]
    pub users: Vec<String>,
    /// CPU quota, for requests and limits.
    #[arg(long, default_value = "4")]
    pub cpu: String,
    /// Memory quota, for requests and limits.
    #[arg(long, default_value = "8Gi")]
    pub memory: String,
    /// Pod count quota.
    #[arg(long, default_value_t = 50)]
    pub pods: u32,
    /// Pin the tenant's pods to nodes with this label, `key=value` (repeatable).
    #[arg(long, value_name = "K=V")]
    pub node_selector: Vec<String>,
    /// Default toleration for the tenant's pods, `key=value:Effect` (repeatable).
    #[arg(long, value_name = "KEY=VALUE:EFFECT")]
    pub toleration: Vec<String>,
    /// Pod Security Standard to enforce, audit and warn.
    #[arg(long, default_value = "restricted", value_parser = ["restricted", "baseline"])]
    pub pss: String,
    /// A YAML list of tenants; emits all of them.
    #[arg(long, value_name = "FILE", conflicts_with = "name")]
    pub file: Option<PathBuf>,
    /// Write the YAML to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Input manifests and output file, shared by the generators that read manifests.
#[derive(Debug, Args)]
pub struct GenerateInput {
    /// Files or directories to read; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".", conflicts_with = "live")]
    pub paths: Vec<PathBuf>,
    /// Read the objects from the live cluster of the kubeconfig instead of files.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Write the YAML to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PodSecurityArgs {
    #[command(flatten)]
    pub input: GenerateInput,
    /// Emit a strategic-merge securityContext patch per workload instead of Namespace labels.
    #[arg(long)]
    pub patch: bool,
}

#[derive(Debug, Args)]
pub struct NetworkPolicyArgs {
    #[command(flatten)]
    pub input: GenerateInput,
}

#[derive(Debug, Subcommand)]
pub enum RbacCommand {
    /// Every subject allowed VERB on RESOURCE (or a non-resource URL such as /metrics),
    /// with the binding, role and rule that allow it, and the IAM principals mapped to it.
    WhoCan(WhoCanArgs),
    /// Every role bound to a user, group, service account (NS:NAME) or IAM ARN, and where.
    Lookup(LookupArgs),
    /// Subjects holding dangerous powers, ranked by severity.
    Risks(RisksArgs),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Detections over audit logs (AUD rules): exec, privileged pods, RBAC changes,
    /// 401/403 bursts and more.
    Scan(Box<AuditScanArgs>),
    /// Top users, service accounts, verbs, resources and source IPs; denied requests;
    /// the request rate over time.
    Summary(Box<AuditSummaryArgs>),
    /// Least-privilege Roles, ClusterRoles and bindings that allow exactly the requests one
    /// user, service account or group made (allowed or denied), as YAML to apply.
    Rbac(Box<AuditRbacArgs>),
}

/// Audit logs to read.
#[derive(Debug, Args)]
pub struct AuditLogs {
    /// Audit logs: JSON lines, JSON arrays or EventLists, CloudWatch Logs exports
    /// (filter-log-events JSON, S3 export files, subscription payloads), plain or gzip;
    /// a directory is read file by file in name order; `-` reads standard input.
    #[arg(value_name = "LOG", required_unless_present = "cloudwatch")]
    pub logs: Vec<PathBuf>,
    /// Read the audit streams of this CloudWatch Logs group (EKS: `/aws/eks/CLUSTER/cluster`)
    /// through the AWS API, after any LOG files.
    #[arg(long, value_name = "LOG_GROUP")]
    pub cloudwatch: Option<String>,
    /// With --cloudwatch: events from this long ago (`2h`, `30m`, `7d`) or since this time
    /// (RFC 3339, e.g. `2026-11-27T08:00:00Z`) [default: the whole retention].
    #[arg(long, value_name = "WHEN", requires = "cloudwatch")]
    pub since: Option<String>,
    /// With --cloudwatch: events before this time (a duration ago or RFC 3339).
    #[arg(long, value_name = "WHEN", requires = "cloudwatch")]
    pub until: Option<String>,
    /// With --cloudwatch: only streams whose names start with this.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "kube-apiserver-audit",
        requires = "cloudwatch"
    )]
    pub log_stream_prefix: String,
    /// With --cloudwatch: AWS region [default: the AWS configuration].
    #[arg(long, value_name = "REGION", requires = "cloudwatch")]
    pub region: Option<String>,
    /// With --cloudwatch: AWS profile of the shared configuration files.
    #[arg(long, value_name = "PROFILE", requires = "cloudwatch")]
    pub profile: Option<String>,
    /// With --cloudwatch: send the requests to this AWS-compatible endpoint.
    #[arg(long, value_name = "URL", requires = "cloudwatch")]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("identity").required(true).args(["user", "serviceaccount", "group"])))]
pub struct AuditRbacArgs {
    #[command(flatten)]
    pub input: AuditLogs,
    /// The user whose requests to allow (the impersonated user when one was).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// The service account whose requests to allow, as NS:NAME.
    #[arg(long, value_name = "NS:NAME")]
    pub serviceaccount: Option<String>,
    /// Allow the requests made by members of this group, bound to the group.
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,
    /// Keep the names of the objects requested as resourceNames.
    #[arg(long)]
    pub resource_names: bool,
    /// Also grant what denied requests asked for, each such rule marked with a comment
    /// (by default only allowed requests count: anyone can make a request that is refused).
    #[arg(long)]
    pub include_denied: bool,
    /// Only requests that were allowed: the default now, accepted for older scripts.
    #[arg(long, hide = true, conflicts_with = "include_denied")]
    pub allowed_only: bool,
    /// Grant these powers when observed requests need them; without this they are left
    /// out, and the output and standard error say so.
    #[arg(
        long,
        value_name = "POWER,...",
        value_delimiter = ',',
        value_parser = ["escalate", "bind", "impersonate", "nodes/proxy"]
    )]
    pub allow_dangerous: Vec<String>,
    /// Prefix of the generated objects' names.
    #[arg(long, value_name = "PREFIX", default_value = "eksguard")]
    pub name_prefix: String,
    /// Write the YAML to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuditScanArgs {
    #[command(flatten)]
    pub input: AuditLogs,
    #[command(flatten)]
    pub follow: FollowArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub check: CheckArgs,
}

/// Following a CloudWatch Logs group as events arrive.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// With --cloudwatch: after reading the group, keep polling it for new events (streams
    /// EKS adds included) and write each finding as it is found (text or jsonl), until
    /// SIGTERM or SIGINT, which finish the current poll and exit 0.
    #[arg(long, requires = "cloudwatch", conflicts_with_all = ["until", "logs"])]
    pub follow: bool,
    /// With --follow: save the position in each stream and the rules' state to FILE after
    /// each poll's findings are written; a restart with the same FILE goes on where the
    /// last run stopped, judging no event twice.
    #[arg(long, value_name = "FILE", requires = "follow")]
    pub checkpoint: Option<PathBuf>,
    /// With --follow: time between polls.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub poll_interval: std::time::Duration,
    /// With --follow: how far before the newest event read each poll looks again, for
    /// events CloudWatch ingests late with an older time.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    pub look_back: std::time::Duration,
    /// With --follow: serve `GET /metrics` (Prometheus) and `GET /healthz` over plain
    /// HTTP on this address (e.g. `0.0.0.0:9090`).
    #[arg(long, value_name = "ADDR", requires = "follow")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// Output of the answers that are data rather than findings (RBAC queries, audit
/// summaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Text,
    Json,
    Markdown,
}

/// Input and output of the RBAC queries.
#[derive(Debug, Args)]
pub struct RbacInput {
    /// Files or directories to read; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".", conflicts_with = "live")]
    pub paths: Vec<PathBuf>,
    /// Read the RBAC objects (and, for EKS, aws-auth and the access entries) from the live
    /// cluster of the kubeconfig instead of files.
    #[arg(long)]
    pub live: bool,
    /// Kubeconfig context for --live [default: the current context].
    #[arg(long, value_name = "NAME", requires = "live")]
    pub context: Option<String>,
    /// Kubeconfig file for --live [default: $KUBECONFIG, else ~/.kube/config, else the
    /// in-cluster service account].
    #[arg(long, value_name = "FILE", requires = "live")]
    pub kubeconfig: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: DataFormat,
    /// Write the answer to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WhoCanArgs {
    /// The verb (`get`, `create`, `*` for rules granting every verb).
    #[arg(value_name = "VERB")]
    pub verb: String,
    /// RESOURCE, RESOURCE.GROUP, RESOURCE/SUBRESOURCE (`pods/exec`, `deployments.apps/scale`)
    /// or a non-resource URL starting with `/`.
    #[arg(value_name = "RESOURCE")]
    pub resource: String,
    /// The request's namespace [default: any namespace].
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// The object's name, for rules limited by resourceNames.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub input: RbacInput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubjectKindArg {
    User,
    Group,
    Serviceaccount,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// A user, a group, a service account (`NS:NAME` or `system:serviceaccount:NS:NAME`)
    /// or an IAM role, user or assumed-role ARN.
    #[arg(value_name = "SUBJECT")]
    pub subject: String,
    /// What SUBJECT names [default: a user and a group of that name; service accounts and
    /// ARNs are recognised by their form].
    #[arg(long, short = 'k', value_enum)]
    pub kind: Option<SubjectKindArg>,
    #[command(flatten)]
    pub input: RbacInput,
}

#[derive(Debug, Args)]
pub struct RisksArgs {
    /// Also list Kubernetes' own identities (system:* users and groups bound by the
    /// default policy, unless an IAM principal is mapped to them).
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub input: RbacInput,
}

/// Output of `audit summary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Text,
    Json,
    Markdown,
    /// One self-contained page, with the findings of the audit rules marked on the rate.
    Html,
}

#[derive(Debug, Args)]
pub struct AuditSummaryArgs {
    #[command(flatten)]
    pub input: AuditLogs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    pub format: SummaryFormat,
    /// Write the summary to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows in each top-N table.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
}

/// `eksguard serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (HTTPS only).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8443")]
    pub listen: std::net::SocketAddr,
    /// PEM certificate chain; re-read when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// PEM private key; re-read when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Configuration file (.eksguard.toml format); none is looked for otherwise.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Deny a request with a finding at or above this severity.
    #[arg(long, value_name = "SEV", value_enum, default_value_t = FailOn::High)]
    pub deny_on: FailOn,
    /// Return findings at or above this severity as warnings to the client.
    #[arg(long, value_name = "SEV", value_enum, default_value_t = FailOn::Low)]
    pub warn_on: FailOn,
    /// Never deny: what would be denied is allowed with warnings.
    #[arg(long)]
    pub dry_run: bool,
    /// Also run a full `cluster` scan this often (e.g. `10m`) and serve it at /report.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub scan_interval: Option<std::time::Duration>,
    /// No watch cache: only the rules that need nothing but the object run at admission.
    #[arg(long)]
    pub no_watch: bool,
    /// After SIGTERM, go on accepting requests this long (readiness failing) before
    /// draining open connections and exiting.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    pub shutdown_delay: std::time::Duration,
    /// Address of the plain-HTTP listener for /healthz, /readyz and /metrics.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9090")]
    pub metrics_listen: std::net::SocketAddr,
    /// Reviews judged at once; past them a request waits up to 2 s, then gets 429.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_reviews: u16,
    /// Connections one client address may hold open on the webhook port.
    #[arg(long, value_name = "N", default_value_t = 128, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_connections_per_peer: u16,
    /// Honour `eksguard.io/ignore` annotations on objects of this namespace (repeatable);
    /// each use is recorded in the audit annotations and counted. None by default.
    #[arg(long, value_name = "NAMESPACE")]
    pub trust_annotations_in: Vec<String>,
    /// A user whose pods, ReplicaSets and Jobs with a controller owner get the owner's
    /// answer (repeatable; replaces the built-in controller-manager identities).
    #[arg(long, value_name = "USER")]
    pub controller_user: Vec<String>,
    /// Serve /report (with --scan-interval) to callers whose bearer token the API server
    /// accepts and who may `get` the `services/proxy` of this Service. Off by default.
    #[arg(long, value_name = "NAMESPACE/SERVICE")]
    pub report_access: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}
