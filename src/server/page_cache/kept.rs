//! The kept pages: each cut where every response puts its own values (the order's
//! reference, the CSP nonce), by the view it shows.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

/// Pages kept at most; full, the cache starts over. Pages are small, and every first visit in
/// one language shares one.
const CAPACITY: usize = 256;

/// The pages, by the JSON of the view they show (with the placeholder for the reference).
pub struct PageCache {
    pages: RwLock<HashMap<String, Arc<Page>>>,
    /// Stands in for the order's reference in a kept page: random, so no page holds it by
    /// chance, and letters and digits only, so HTML and JSON write it unchanged.
    pub(super) placeholder: String,
}

impl PageCache {
    pub fn new() -> PageCache {
        PageCache {
            pages: RwLock::default(),
            placeholder: format!("ref{}", crate::server::store::random_key()),
        }
    }

    /// How many pages are kept.
    pub fn len(&self) -> usize {
        self.pages.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn get(&self, key: &str) -> Option<Arc<Page>> {
        self.pages
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    pub(super) fn keep(&self, key: String, page: Arc<Page>) {
        let mut pages = self.pages.write().unwrap_or_else(|p| p.into_inner());
        if pages.len() >= CAPACITY {
            pages.clear();
        }
        pages.insert(key, page);
    }
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::new()
    }
}

/// A rendered page, cut where each response puts its own values.
pub(super) struct Page {
    status: StatusCode,
    headers: Vec<(HeaderName, Header)>,
    body: Text,
}

enum Header {
    Fixed(HeaderValue),
    /// A header that names the nonce (the Content-Security-Policy).
    WithNonce(Text),
}

impl Page {
    pub(super) fn cut(
        status: StatusCode,
        headers: &axum::http::HeaderMap,
        body: &str,
        placeholder: &str,
        nonce: Option<&str>,
    ) -> Page {
        let mut marks = vec![(placeholder, Hole::Reference)];
        marks.extend(nonce.map(|n| (n, Hole::Nonce)));
        let headers = headers
            .iter()
            // The length is the filled body's, set again by the response.
            .filter(|(name, _)| {
                **name != header::CONTENT_LENGTH && **name != header::TRANSFER_ENCODING
            })
            .map(|(name, value)| {
                let header = match (value.to_str(), nonce) {
                    (Ok(text), Some(nonce)) if text.contains(nonce) => {
                        Header::WithNonce(Text::cut(text, &marks))
                    }
                    _ => Header::Fixed(value.clone()),
                };
                (name.clone(), header)
            })
            .collect();
        Page {
            status,
            headers,
            body: Text::cut(body, &marks),
        }
    }

    pub(super) fn response(&self, reference: &str, nonce: &str) -> Response {
        let mut response = Response::new(axum::body::Body::from(self.body.fill(reference, nonce)));
        *response.status_mut() = self.status;
        for (name, header) in &self.headers {
            let value = match header {
                Header::Fixed(value) => value.clone(),
                Header::WithNonce(text) => {
                    match HeaderValue::from_str(&text.fill(reference, nonce)) {
                        Ok(value) => value,
                        Err(_) => continue,
                    }
                }
            };
            response.headers_mut().append(name.clone(), value);
        }
        response
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hole {
    Reference,
    Nonce,
}

/// Text with holes: `pieces[0] hole[0] pieces[1] … hole[n-1] pieces[n]`.
#[derive(Debug, PartialEq, Eq)]
struct Text {
    pieces: Vec<String>,
    holes: Vec<Hole>,
}

impl Text {
    /// `text` cut at every occurrence of each mark, the mark becoming its hole.
    fn cut(text: &str, marks: &[(&str, Hole)]) -> Text {
        let (mut pieces, mut holes) = (Vec::new(), Vec::new());
        let mut rest = text;
        loop {
            let next = marks
                .iter()
                .filter(|(mark, _)| !mark.is_empty())
                .filter_map(|(mark, hole)| rest.find(mark).map(|at| (at, mark.len(), *hole)))
                .min_by_key(|(at, _, _)| *at);
            match next {
                Some((at, len, hole)) => {
                    pieces.push(rest[..at].to_owned());
                    holes.push(hole);
                    rest = &rest[at + len..];
                }
                None => {
                    pieces.push(rest.to_owned());
                    return Text { pieces, holes };
                }
            }
        }
    }

    fn fill(&self, reference: &str, nonce: &str) -> String {
        let holes_len: usize = self
            .holes
            .iter()
            .map(|h| {
                if *h == Hole::Reference {
                    reference.len()
                } else {
                    nonce.len()
                }
            })
            .sum();
        let mut text =
            String::with_capacity(self.pieces.iter().map(String::len).sum::<usize>() + holes_len);
        for (piece, hole) in self
            .pieces
            .iter()
            .zip(self.holes.iter().map(Some).chain([None]))
        {
            text.push_str(piece);
            match hole {
                Some(Hole::Reference) => text.push_str(reference),
                Some(Hole::Nonce) => text.push_str(nonce),
                None => {}
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::{Hole, Text};

    #[test]
    fn a_page_is_cut_at_every_reference_and_nonce_and_filled_with_this_response_s() {
        let page = r#"<script nonce="N0NCE">x</script><p>REF</p>{"reference":"REF"}<script nonce="N0NCE"></script>"#;
        let text = Text::cut(page, &[("REF", Hole::Reference), ("N0NCE", Hole::Nonce)]);
        assert_eq!(
            text.holes,
            [Hole::Nonce, Hole::Reference, Hole::Reference, Hole::Nonce]
        );
        assert_eq!(
            text.fill("K7Q2-9XWD", "abc_-123"),
            r#"<script nonce="abc_-123">x</script><p>K7Q2-9XWD</p>{"reference":"K7Q2-9XWD"}<script nonce="abc_-123"></script>"#
        );
        // Nothing to cut: the text as it was.
        assert_eq!(
            Text::cut("plain", &[("REF", Hole::Reference)]).fill("A", "B"),
            "plain"
        );
        assert_eq!(
            Text::cut("REF", &[("REF", Hole::Reference)]).fill("A", "B"),
            "A"
        );
    }
}
