// Print jobs in words, shared by the viewer ("Utskrift klar — Öppna PDF") and the portal's
// "Mina utskrifter": the refusal codes of the print pipeline (docs/printing.md) in Swedish
// and English, and the addresses of a job's PDF.

/** Refusal code → [Swedish, English]. Codes not listed get `unknown`. */
export const PRINT_REFUSALS = Object.freeze({
  malformed_pdf: ["PDF-filen från programmet var trasig.", "The PDF from the application was broken."],
  malformed_raster: ["Utskriftens bilddata var trasiga.", "The print job's raster data was broken."],
  malformed_jpeg: ["JPEG-bilden i utskriften var trasig.", "The JPEG image in the print job was broken."],
  malformed_text: ["Utskriftens text gick inte att läsa.", "The print job's text could not be read."],
  too_many_pages: ["Utskriften har för många sidor.", "The print job has too many pages."],
  too_large: ["PDF-filen blev för stor.", "The PDF became too large."],
  unsupported_format: ["Utskriftens format stöds inte.", "The print job's format is not supported."],
  postscript_unavailable: [
    "PostScript-utskrifter kan inte tas emot här (Ghostscript saknas). Be administratören byta drivrutin till PDF.",
    "PostScript print jobs cannot be received here (Ghostscript is missing). Ask the administrator to switch the driver to PDF.",
  ],
  postscript_failed: ["PostScript-utskriften gick inte att omvandla till PDF.", "The PostScript print job could not be converted to PDF."],
  render_timeout: ["Det tog för lång tid att skapa PDF-filen.", "Creating the PDF took too long."],
  io: ["Ett internt fel hindrade utskriften. Försök igen.", "An internal error stopped the print job. Try again."],
  job_too_large: ["Utskriften är för stor (högst 128 MiB).", "The print job is too large (at most 128 MiB)."],
  job_truncated: ["Utskriften kom inte fram hel. Försök igen.", "The print job did not arrive whole. Try again."],
  cancelled: ["Utskriften avbröts.", "The print job was cancelled."],
  print_unavailable: [
    "Utskriftstjänsten svarar inte just nu. Försök igen om en stund.",
    "The print service is not answering right now. Try again in a while.",
  ],
});

const UNKNOWN = ["Utskriften kunde inte skapas.", "The print job could not be made into a PDF."];

/** The sentence for a refusal code in `lang` ("sv" or "en"). */
export function refusalText(code, lang) {
  const texts = Object.hasOwn(PRINT_REFUSALS, code) ? PRINT_REFUSALS[code] : UNKNOWN;
  return lang === "en" ? texts[1] : texts[0];
}

/** The job's PDF, shown inline (a new tab) or as a download. */
export function pdfUrl(jobId, download = false) {
  const base = `/portal/api/prints/${encodeURIComponent(jobId)}/pdf`;
  return download ? `${base}?download=1` : base;
}
