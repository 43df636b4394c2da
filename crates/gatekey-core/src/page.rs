//! Pagination of lists: `?page=&per_page=` with a default of 30 and a maximum of 200.

use serde::Serialize;

/// Items per page when the caller does not say.
pub const DEFAULT_PER_PAGE: u32 = 30;
/// The largest page a caller may ask for.
pub const MAX_PER_PAGE: u32 = 200;
/// The highest page number: the largest signed 32-bit integer, so that the number a list
/// answers in `current_page` fits the 32-bit integer its published schema promises.
pub const MAX_PAGE: u32 = i32::MAX as u32;

/// Which slice of a list to return. Pages are numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// The 1-based page number.
    pub page: u32,
    /// Items per page, between 1 and [`MAX_PER_PAGE`].
    pub per_page: u32,
}

/// Why a page request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    /// `page` was 0 or over [`MAX_PAGE`].
    #[error("page must be between 1 and {MAX_PAGE}")]
    PageOutOfRange,
    /// `per_page` was 0 or over the maximum.
    #[error("per_page must be between 1 and {MAX_PER_PAGE}")]
    PerPageOutOfRange,
}

impl PageRequest {
    /// Validates the caller's numbers, applying the defaults for those left out.
    pub fn new(page: Option<u32>, per_page: Option<u32>) -> Result<Self, PageError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page == 0 || page > MAX_PAGE {
            return Err(PageError::PageOutOfRange);
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(PageError::PerPageOutOfRange);
        }
        Ok(Self { page, per_page })
    }

    /// The SQL `LIMIT`.
    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    /// The SQL `OFFSET`.
    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items the whole list holds.
    pub total: u64,
    /// The request this page answers.
    pub request: PageRequest,
}

/// The `pagination` object of a list response.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Pagination {
    /// Items in the whole list.
    pub total_records: u64,
    /// Pages in the whole list (at least 1).
    pub total_pages: u64,
    /// The page returned.
    pub current_page: u32,
}

impl<T> Page<T> {
    /// The `pagination` object describing this page.
    pub fn pagination(&self) -> Pagination {
        let per_page = u64::from(self.request.per_page);
        Pagination {
            total_records: self.total,
            total_pages: self.total.div_ceil(per_page).max(1),
            current_page: self.request.page,
        }
    }

    /// The page `request` asks for of a whole list held in memory.
    pub fn of_all(all: Vec<T>, request: PageRequest) -> Self {
        let total = all.len() as u64;
        let skip = usize::try_from(request.offset()).unwrap_or(usize::MAX);
        let items = all
            .into_iter()
            .skip(skip)
            .take(request.per_page as usize)
            .collect();
        Self {
            items,
            total,
            request,
        }
    }

    /// Maps every item, keeping the counts.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
            request: self.request,
        }
    }
}
