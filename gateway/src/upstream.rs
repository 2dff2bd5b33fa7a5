//! The client towards providers: over mutual TLS with the gateway's own
//! certificate, on pooled HTTP/1.1 connections, each call within a deadline. HTTP/1.1 unless `upstream.http2` is set: each call then costs
//! one connection task's turn instead of hand-offs between the call and the
//! shared HTTP/2 connection's task (measured: 0.28 → 0.17 ms upstream stage at
//! one client, 3,648 → 4,233 req/s at 16); see docs/performance.md for where
//! HTTP/2 does better.
//! No retry of a request that reached the provider: hyper retries only requests
//! that a pooled connection closed before sending.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use yrdx_adapters::NativeRequest;

use crate::config::Config;
use crate::problem::{Detail, Problem};
use crate::tls::{self, TlsError};

/// The client towards providers.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    max_response_bytes: usize,
}

/// A provider's answer.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Content type, if given.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Upstream {
    /// Builds the pooled client from the configuration.
    pub fn new(config: &Config) -> Result<Upstream, TlsError> {
        let tls = tls::upstream(config)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.upstream.connect_timeout));
        let builder = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1();
        let connector = if config.upstream.http2 {
            builder.enable_http2().wrap_connector(http)
        } else {
            builder.wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.upstream.pool_idle_timeout)
            .pool_max_idle_per_host(config.upstream.pool_max_idle_per_host)
            .build(connector);
        Ok(Upstream {
            client,
            max_response_bytes: config.upstream.max_response_bytes,
        })
    }

    /// Sends `native` to the provider at `base` and reads its whole answer
    /// within `deadline`.
    pub async fn call(
        &self,
        base: &str,
        native: &NativeRequest,
        deadline: Duration,
    ) -> Result<Answer, Problem> {
        let uri: Uri = format!("{}{}", base.trim_end_matches('/'), native.path_and_query)
            .parse()
            .map_err(|_| Problem::Internal)?;
        let method = Method::from_bytes(native.method.as_bytes()).map_err(|_| Problem::Internal)?;
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(ct) = &native.content_type {
            builder = builder.header(header::CONTENT_TYPE, ct);
        }
        // The mapping's own headers: names and values were checked when it loaded.
        for (name, value) in &native.headers {
            builder = builder.header(name, value);
        }
        let request = builder
            .body(Full::new(Bytes::from(native.body.clone())))
            .map_err(|_| Problem::Internal)?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                tracing::debug!(error = %e, "provider unreachable");
                Problem::UpstreamUnavailable
            })?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = Limited::new(response.into_body(), self.max_response_bytes)
                .collect()
                .await
                .map_err(|e| {
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        let max = self.max_response_bytes;
                        Problem::MappingFailed(Detail::new(
                            format!("提供方的答复超过 {max} 字节。"),
                            format!("provider answer is larger than {max} bytes"),
                        ))
                    } else {
                        Problem::UpstreamUnavailable
                    }
                })?
                .to_bytes();
            Ok(Answer {
                status,
                content_type,
                body,
            })
        };
        tokio::time::timeout(deadline, exchange)
            .await
            .map_err(|_| Problem::UpstreamTimeout)?
    }
}
