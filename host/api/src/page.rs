//! Paging, the one way every list route pages: `?offset=&limit=` in, `{"items", "total",
//! "offset", "limit"}` out.

use super::ApiError;
use serde::{Deserialize, Serialize};

/// Items per page when the caller names no limit.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: usize = 1000;

/// `?offset=&limit=`.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to skip.
    pub offset: Option<usize>,
    /// Items to return (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

impl PageQuery {
    /// The offset and limit to use, or a field-level error.
    pub fn resolve(self) -> Result<(usize, usize), ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::invalid(format!(
                "`limit` must be between 1 and {MAX_LIMIT}, not {limit}"
            )));
        }
        Ok((self.offset.unwrap_or(0), limit))
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Items in the whole list (after filters).
    pub total: u64,
    /// Items skipped before this page.
    pub offset: usize,
    /// The page size asked for.
    pub limit: usize,
}

impl<T> Page<T> {
    /// The page `query` picks out of a whole list.
    pub fn slice(all: Vec<T>, query: PageQuery) -> Result<Page<T>, ApiError> {
        let (offset, limit) = query.resolve()?;
        let total = all.len() as u64;
        let items = all.into_iter().skip(offset).take(limit).collect();
        Ok(Page {
            items,
            total,
            offset,
            limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(offset: Option<usize>, limit: Option<usize>) -> PageQuery {
        PageQuery { offset, limit }
    }

    #[test]
    fn slices_and_counts_the_whole_list() {
        let page = Page::slice((0..10).collect(), query(Some(3), Some(4))).unwrap();
        assert_eq!(page.items, vec![3, 4, 5, 6]);
        assert_eq!((page.total, page.offset, page.limit), (10, 3, 4));
        let past_end = Page::slice((0..10).collect::<Vec<_>>(), query(Some(20), None)).unwrap();
        assert!(past_end.items.is_empty());
        assert_eq!(past_end.total, 10);
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(query(None, None).resolve().unwrap(), (0, DEFAULT_LIMIT));
        for bad in [0, MAX_LIMIT + 1] {
            let err = query(None, Some(bad)).resolve().unwrap_err();
            assert!(format!("{err:?}").contains("`limit`"), "{err:?}");
        }
    }
}
