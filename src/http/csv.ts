/**
 * CSV export of report rows (RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote or
 * line break quoted). Text that a spreadsheet would run as a formula (starting with = + - @) is
 * prefixed with a quote, since report cells carry names clients chose (aliases, model names). So is
 * such text after a ";" or a line break: Excel in most European locales splits a .csv on ";" (their
 * list separator) and takes a double quote as a qualifier only at a field's start, so `x;=HYPERLINK(…)`
 * would be a formula cell of its own there, and `x⏎=…` the first cell of a new row, whatever the
 * quoting for commas.
 */
export type CsvValue = string | number | boolean | null | undefined;

function cell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string') {
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    text = text.replace(/([;\r\n])(?=[ "]*[=+\-@\t\r])/g, "$1'");
  }
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, CsvValue>>): string {
  const lines = [columns.map(cell).join(',')];
  for (const row of rows) lines.push(columns.map((column) => cell(row[column])).join(','));
  return lines.join('\r\n') + '\r\n';
}
