/**
 * CSV export of report rows (RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote or
 * line break quoted). Text that a spreadsheet would run as a formula (starting with = + - @) is
 * prefixed with a quote, since report cells carry names clients chose (aliases, model names).
 */
export type CsvValue = string | number | boolean | null | undefined;

function cell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, CsvValue>>): string {
  const lines = [columns.map(cell).join(',')];
  for (const row of rows) lines.push(columns.map((column) => cell(row[column])).join(','));
  return lines.join('\r\n') + '\r\n';
}
