use leptos::prelude::*;

use crate::i18n::{td_string, I18nLocaleTrait, Locale};

/// The visible language switch: a plain form (no WASM needed) posting to `/language`, which
/// remembers the choice in a cookie and sends the shopper back to `return_to`, rendered anew
/// in that language. Each button is labelled in its own language.
#[component]
pub fn LanguageSwitch(current: Locale, #[prop(into)] return_to: String) -> impl IntoView {
    let buttons = Locale::get_all()
        .iter()
        .map(|&locale| {
            let name = td_string!(locale, language_name);
            view! {
                <button
                    type="submit"
                    name="lang"
                    value=locale.as_str()
                    lang=locale.as_str()
                    class="link"
                    aria-pressed=(locale == current).to_string()
                    data-testid=format!("language-{}", locale.as_str())
                >
                    {name}
                </button>
            }
        })
        .collect_view();
    view! {
        <form method="post" action="/language" class="language-switch" aria-label=td_string!(current, page.language)>
            <input type="hidden" name="return_to" value=return_to/>
            {buttons}
        </form>
    }
}
