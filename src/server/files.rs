//! The build's files under `/pkg`: the WASM, JS and CSS, precompressed or compressed as they
//! are served, cached for a year when their names carry their hash.

use axum::Router;
use leptos::prelude::LeptosOptions;

/// `/pkg`: the WASM, JS and CSS, served precompressed (brotli, gzip) when `cargo leptos build
/// --release --precompress` made the files. With hash-files their names change with their
/// content, so a browser keeps them a year and never asks again.
pub fn pkg_files(options: &LeptosOptions) -> Router {
    let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let files = tower_http::services::ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip();
    let cache = if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Router::new()
        .nest_service(&format!("/{}", options.site_pkg_dir), files)
        // A build made without `--precompress` has no .br or .gz beside its files: they are
        // compressed as they are served (a file served precompressed is left as it is).
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::map_response(
            move |mut response: axum::response::Response| async move {
                // Only a file is cached: a 404 must not outlive the next deploy.
                if response.status().is_success() {
                    response.headers_mut().insert(
                        axum::http::header::CACHE_CONTROL,
                        axum::http::HeaderValue::from_static(cache),
                    );
                }
                response
            },
        ))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_built_files_are_served_compressed_whether_or_not_they_were_precompressed() {
        use tower::ServiceExt;
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(site.path().join("pkg")).unwrap();
        let wasm = vec![b'a'; 64 * 1024];
        std::fs::write(site.path().join("pkg/raw.wasm"), &wasm).unwrap();
        std::fs::write(site.path().join("pkg/pre.wasm"), &wasm).unwrap();
        std::fs::write(site.path().join("pkg/pre.wasm.br"), b"precompressed").unwrap();
        let options = leptos::config::LeptosOptions::builder()
            .output_name("checkout")
            .site_root(site.path().to_str().unwrap())
            .site_pkg_dir("pkg")
            .build();
        let get = |path: &str| {
            let request = axum::http::Request::get(path)
                .header("accept-encoding", "br, gzip")
                .body(axum::body::Body::empty())
                .unwrap();
            super::pkg_files(&options).oneshot(request)
        };
        let raw = get("/pkg/raw.wasm").await.unwrap();
        assert_eq!(
            raw.headers()["content-encoding"],
            "br",
            "compressed as it is served"
        );
        let body = axum::body::to_bytes(raw.into_body(), usize::MAX)
            .await
            .unwrap();
        assert!(body.len() < wasm.len() / 10, "{} bytes", body.len());
        let pre = get("/pkg/pre.wasm").await.unwrap();
        assert_eq!(pre.headers()["content-encoding"], "br");
        let body = axum::body::to_bytes(pre.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            b"precompressed",
            "the precompressed file, as it is"
        );
    }
}
