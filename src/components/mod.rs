//! The pages' shared parts, and what the island (`src/island/`, outside this library) reads
//! from them.

// Rendered on the server only, around the island.
#[cfg(feature = "ssr")]
mod language_switch;
#[cfg(feature = "ssr")]
mod test_mode_banner;

#[cfg(feature = "ssr")]
pub use language_switch::LanguageSwitch;
#[cfg(feature = "ssr")]
pub use test_mode_banner::TestModeBanner;

use crate::i18n::Locale;

/// Marks the places of markup (a `<span>`, a link) inside a translated sentence, whose word
/// order is its language's: interpolated in place of the values, then split around.
pub const MARKS: [&str; 2] = ["\u{1}", "\u{2}"];

/// The texts before, between and after the [`MARKS`] of a translated sentence.
pub fn around_marks(sentence: &str) -> [String; 3] {
    let mut parts = sentence.split(['\u{1}', '\u{2}']).map(str::to_owned);
    [(); 3].map(|_| parts.next().unwrap_or_default())
}

/// The page's language: the island is given it by the server (in the page's data, provided
/// as context to its parts), so the WASM renders what SSR rendered.
pub fn use_locale() -> Locale {
    leptos::prelude::use_context::<Locale>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{around_marks, MARKS};

    #[test]
    fn a_sentence_splits_around_its_marks_whatever_their_order_in_the_language() {
        let english = format!("{} charged to {}.", MARKS[0], MARKS[1]);
        assert_eq!(around_marks(&english), ["", " charged to ", "."]);
        let french = format!("Répétition de {}, débitée hors session.", MARKS[0]);
        assert_eq!(
            around_marks(&french),
            ["Répétition de ", ", débitée hors session.", ""]
        );
    }
}
