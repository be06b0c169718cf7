//! Logging and tracing: human-readable lines by default, JSON when configured, always to
//! stderr so that `--json` command output on stdout stays clean; spans exported over OTLP
//! (HTTP, protobuf or JSON) when the standard `OTEL_EXPORTER_OTLP_*` variables name a
//! collector.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::configuration::LogFormat;

// actix-http logs every malformed request from a client (bad header, broken stream) at
// ERROR; on a public service that is noise, not a fault of ours.
const DEFAULT_FILTER: &str =
    "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,actix_server=warn,actix_http::h1::dispatcher=off";

/// Flushes exported spans when dropped (at the end of `main`, after a graceful stop).
#[must_use = "spans are flushed when the guard drops"]
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("rosetta: flushing traces failed: {e}");
        }
    }
}

/// Whether the environment names an OTLP collector for traces.
fn otlp_configured() -> bool {
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.is_empty()))
        && std::env::var("OTEL_SDK_DISABLED").map_or(true, |v| v != "true")
}

fn tracer_provider() -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    // Endpoint, protocol (http/protobuf or http/json), headers and timeouts come from the
    // standard OTEL_* variables; OTEL_SERVICE_NAME overrides the service name.
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "rosetta".into());
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build())
}

/// Installs the global subscriber. `RUST_LOG` overrides the default filter. Calling it
/// twice is harmless (the second call is ignored).
pub fn init(format: LogFormat) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().with_current_span(true).with_span_list(false).boxed(),
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).compact().boxed(),
    };
    let provider = if otlp_configured() {
        match tracer_provider() {
            Ok(provider) => Some(provider),
            Err(e) => {
                eprintln!("rosetta: OTLP exporter not started: {e}");
                None
            }
        }
    } else {
        None
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("rosetta")));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    TelemetryGuard(provider)
}
