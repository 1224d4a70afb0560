//! Stripe's list envelope and cursor pagination (`limit`, `starting_after`, `ending_before`).

use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::form::Form;

/// The `created` filter of list calls: an exact time, or bounds (`created[gte]=…`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CreatedRange {
    pub gt: Option<i64>,
    pub gte: Option<i64>,
    pub lt: Option<i64>,
    pub lte: Option<i64>,
}

impl CreatedRange {
    pub fn take(form: &mut Form) -> ApiResult<CreatedRange> {
        if form.contains("created") {
            if let Ok(Some(exact)) = form.clone().take_i64("created") {
                form.take_str("created")?;
                return Ok(CreatedRange {
                    gte: Some(exact),
                    lte: Some(exact),
                    ..Default::default()
                });
            }
        }
        let Some(mut bounds) = form.take_form("created")? else {
            return Ok(CreatedRange::default());
        };
        let range = CreatedRange {
            gt: bounds.take_i64("gt")?,
            gte: bounds.take_i64("gte")?,
            lt: bounds.take_i64("lt")?,
            lte: bounds.take_i64("lte")?,
        };
        bounds.finish()?;
        Ok(range)
    }

    pub fn contains(&self, created: i64) -> bool {
        self.gt.is_none_or(|t| created > t)
            && self.gte.is_none_or(|t| created >= t)
            && self.lt.is_none_or(|t| created < t)
            && self.lte.is_none_or(|t| created <= t)
    }
}

pub struct Page {
    pub limit: usize,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

impl Page {
    pub fn take(form: &mut Form) -> ApiResult<Page> {
        let limit = form.take_i64("limit")?.unwrap_or(10);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid_value(
                "limit",
                "This value must be greater than or equal to 1 and less than or equal to 100.",
            ));
        }
        Ok(Page {
            limit: limit as usize,
            starting_after: form.take_nonempty("starting_after")?,
            ending_before: form.take_nonempty("ending_before")?,
        })
    }

    /// `items` newest first, as `(id, json)`; cuts the page and wraps it in a list object.
    pub fn render(&self, url: &str, items: Vec<(String, Value)>) -> ApiResult<Value> {
        let ids: Vec<String> = items.iter().map(|(id, _)| id.clone()).collect();
        let mut values: Vec<Option<Value>> = items.into_iter().map(|(_, v)| Some(v)).collect();
        self.render_ids(url, &ids, |n, _| {
            Ok(values[n].take().expect("each item is on the page once"))
        })
    }

    /// The page of `ids` (newest first) wrapped in a list object, each rendered by `render`
    /// (given its position and id) only if it is on the page: a page costs its own objects,
    /// not the whole list.
    pub fn render_ids(
        &self,
        url: &str,
        ids: &[String],
        mut render: impl FnMut(usize, &str) -> ApiResult<Value>,
    ) -> ApiResult<Value> {
        let position = |cursor: &str, param: &str| {
            ids.iter().position(|id| id == cursor).ok_or_else(|| {
                ApiError::invalid_value(param, format!("No such object: '{cursor}'"))
            })
        };
        let (start, end) = match (&self.starting_after, &self.ending_before) {
            (Some(after), _) => {
                let start = position(after, "starting_after")? + 1;
                (start, (start + self.limit).min(ids.len()))
            }
            (None, Some(before)) => {
                let end = position(before, "ending_before")?;
                (end.saturating_sub(self.limit), end)
            }
            (None, None) => (0, self.limit.min(ids.len())),
        };
        let has_more = if self.ending_before.is_some() && self.starting_after.is_none() {
            start > 0
        } else {
            end < ids.len()
        };
        let data = (start..end)
            .map(|n| render(n, &ids[n]))
            .collect::<ApiResult<Vec<Value>>>()?;
        Ok(json!({ "object": "list", "data": data, "has_more": has_more, "url": url }))
    }
}
