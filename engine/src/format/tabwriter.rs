//! Elastic tabstops, as Go's `text/tabwriter` (and docker's copy of it)
//! aligns tables: cells end with a tab, a column is a run of consecutive
//! lines that have a cell in it, and each column is as wide as its widest
//! cell plus padding, never less than a minimum width. The text after a
//! line's last tab is not part of any column.

/// Docker's table settings: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`.
pub const DOCKER_MIN_WIDTH: usize = 10;
/// See [`DOCKER_MIN_WIDTH`].
pub const DOCKER_PADDING: usize = 3;

/// Aligns `text` with docker's table settings.
pub fn align_table(text: &str) -> String {
    align(text, DOCKER_MIN_WIDTH, DOCKER_PADDING)
}

/// Aligns the tab-terminated cells of `text` into columns padded with
/// spaces; `min_width` and `padding` are the tabwriter's `minwidth` and
/// `padding`. Widths count characters.
pub fn align(text: &str, min_width: usize, padding: usize) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut writer = Writer {
        lines: &lines,
        min_width,
        padding,
        widths: Vec::new(),
        out: String::with_capacity(text.len() * 2),
    };
    writer.format(0, lines.len());
    writer.out
}

struct Writer<'a> {
    lines: &'a [Vec<&'a str>],
    min_width: usize,
    padding: usize,
    widths: Vec<usize>,
    out: String,
}

impl Writer<'_> {
    /// Whether line `i` has a tab-terminated cell in `column`.
    fn has_cell(&self, i: usize, column: usize) -> bool {
        column + 1 < self.lines[i].len()
    }

    /// Formats lines `line0..line1`, whose columns left of `widths.len()`
    /// are already sized.
    fn format(&mut self, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if !self.has_cell(this, column) {
                this += 1;
                continue;
            }
            self.write_lines(line0, this);
            line0 = this;
            let mut width = self.min_width;
            while this < line1 && self.has_cell(this, column) {
                width = width.max(self.lines[this][column].chars().count() + self.padding);
                this += 1;
            }
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        for i in line0..line1 {
            for (j, cell) in self.lines[i].iter().enumerate() {
                self.out.push_str(cell);
                if let Some(width) = self.widths.get(j) {
                    let pad = width.saturating_sub(cell.chars().count());
                    self.out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if i + 1 < self.lines.len() {
                self.out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_widest_cell_plus_padding_but_at_least_min_width() {
        let text = "NETWORK ID\tNAME\tDRIVER\tSCOPE\n\
                    0123456789ab\tbridge\tbridge\tlocal\n\
                    ba9876543210\tmy-long-network\tbridge\tlocal\n";
        assert_eq!(
            align_table(text),
            "NETWORK ID     NAME              DRIVER    SCOPE\n\
             0123456789ab   bridge            bridge    local\n\
             ba9876543210   my-long-network   bridge    local\n"
        );
    }

    #[test]
    fn trailing_text_is_not_a_column_and_is_not_padded() {
        assert_eq!(align_table("a\tb\nccc\td\n"), "a         b\nccc       d\n");
    }

    #[test]
    fn a_line_without_tabs_breaks_the_column_block() {
        // Go's example from the tabwriter docs: `b` and `c` are in different
        // columns because the third line has no cell in column 1.
        let text = "aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee";
        assert_eq!(
            align(text, 0, 1),
            "aaaa bbb d\naa   b   dd\na    \naa   cccc eee"
        );
    }

    #[test]
    fn an_empty_table_is_only_its_header() {
        assert_eq!(align_table("ID\tNAME\n"), "ID        NAME\n");
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        assert_eq!(align("é\tx\nab\ty", 0, 1), "é  x\nab y");
    }
}
