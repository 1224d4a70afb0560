//! Bad input: the language switch redirects only to this site.

use super::*;

/// The language switch goes back only to a path of this site, whatever the form carries.
#[test]
fn the_language_switch_never_redirects_to_another_site() {
    support::run(|| async {
        let app = TestApp::spawn().await;
        for (return_to, expected) in [
            ("/\t/evil.example", "/"),
            ("/\n/evil.example", "/"),
            ("//evil.example", "/"),
            ("/\\evil.example", "/"),
            ("/merchant", "/merchant"),
        ] {
            let answer = app
                .post_form("/language", "", &[("lang", "fr"), ("return_to", return_to)])
                .await;
            let location = answer
                .headers
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            assert_eq!(location.as_deref(), Some(expected), "{return_to:?}");
        }
    });
}
