/**
 * Printable labels for a batch of devices: a TR005 QR code per device as an SVG file, and an A4
 * PDF sheet (3 × 7 labels of 70 × 42.4 mm, the common sticker sheet) with the QR code, device
 * name, DevEUI and site on each. Both are drawn from one QR module matrix (qrcode package),
 * so the SVG and the PDF carry the same code; error correction level M survives a scratched
 * sticker.
 */
import QRCode from 'qrcode';
import { PDFDocument, rgb, StandardFonts } from 'pdf-lib';

export interface LabelDevice {
  name: string;
  devEui: string;
  site?: string;
  /** The string the QR code holds (TR005). */
  qr: string;
}

export interface QrMatrix {
  size: number;
  dark(x: number, y: number): boolean;
}

export function qrMatrix(text: string): QrMatrix {
  const q = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const { size, data } = q.modules;
  return { size, dark: (x, y) => data[y * size + x] === 1 };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** One label as a standalone SVG: the QR code (4-module quiet zone) and three lines of text. */
export function labelSvg(d: LabelDevice): string {
  const m = qrMatrix(d.qr);
  const cell = 4;
  const quiet = 4 * cell;
  const qrSize = m.size * cell + 2 * quiet;
  const rects: string[] = [];
  for (let y = 0; y < m.size; y++) for (let x = 0; x < m.size; x++) if (m.dark(x, y)) rects.push(`<rect x="${quiet + x * cell}" y="${quiet + y * cell}" width="${cell}" height="${cell}"/>`);
  const lines = [d.name, d.devEui.toUpperCase(), d.site ?? ''].filter((l) => l !== '');
  const height = qrSize + lines.length * 16 + 8;
  const text = lines.map((l, i) => `<text x="${qrSize / 2}" y="${qrSize + 14 + i * 16}" text-anchor="middle" font-family="sans-serif" font-size="${i === 0 ? 13 : 11}">${esc(l)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${qrSize}" height="${height}" viewBox="0 0 ${qrSize} ${height}"><title>${esc(d.qr)}</title><rect width="100%" height="100%" fill="#fff"/><g fill="#000">${rects.join('')}</g>${text}</svg>\n`;
}

const MM = 72 / 25.4;
export const SHEET = { cols: 3, rows: 7, labelW: 70 * MM, labelH: 42.4 * MM, top: 0 };

/** WinAnsi (the standard PDF fonts' encoding) cannot draw every character: replace the rest. */
function printable(s: string): string {
  return s.normalize('NFC').replace(/[^\x20-\x7e\u00a0-\u00ff]/g, '?');
}

/** The A4 sheet; returns the PDF bytes. Labels fill rows left to right, pages as needed. */
export async function labelSheetPdf(devices: readonly LabelDevice[], title = 'lorawan-edge labels'): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  pdf.setTitle(title);
  pdf.setCreator('lorawan-edge provision labels');
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
  const [pageW, pageH] = [595.28, 841.89];
  const perPage = SHEET.cols * SHEET.rows;
  const marginX = (pageW - SHEET.cols * SHEET.labelW) / 2;
  const marginY = (pageH - SHEET.rows * SHEET.labelH) / 2;
  let page = pdf.addPage([pageW, pageH]);
  devices.forEach((d, i) => {
    if (i > 0 && i % perPage === 0) page = pdf.addPage([pageW, pageH]);
    const slot = i % perPage;
    const col = slot % SHEET.cols;
    const row = Math.floor(slot / SHEET.cols);
    const x0 = marginX + col * SHEET.labelW;
    const yTop = pageH - marginY - row * SHEET.labelH;
    const m = qrMatrix(d.qr);
    // A quiet zone of about four modules on every side (5 mm), as scanners need.
    const qrSide = SHEET.labelH - 10 * MM;
    const cell = qrSide / m.size;
    const qx = x0 + 5 * MM;
    const qy = yTop - 5 * MM - qrSide;
    for (let y = 0; y < m.size; y++) {
      for (let x = 0; x < m.size; x++) {
        if (m.dark(x, y)) page.drawRectangle({ x: qx + x * cell, y: qy + (m.size - 1 - y) * cell, width: cell, height: cell, color: rgb(0, 0, 0) });
      }
    }
    const tx = qx + qrSide + 4 * MM;
    const maxW = x0 + SHEET.labelW - 3 * MM - tx;
    // Shrink the text to fit (down to 6 pt); past that, cut the middle, never the end: the end
    // of a name (bin-centre-12) is what tells two labels apart.
    const draw = (s: string, f: typeof font, size: number, y: number): void => {
      let t = printable(s);
      let sz = size;
      while (sz > 6 && f.widthOfTextAtSize(t, sz) > maxW) sz -= 0.5;
      while (t.length > 4 && f.widthOfTextAtSize(t, sz) > maxW) {
        const half = Math.floor(t.replace('...', '').length / 2);
        const plain = t.replace('...', '');
        t = `${plain.slice(0, half - 1)}...${plain.slice(half + 1)}`;
      }
      page.drawText(t, { x: tx, y, size: sz, font: f });
    };
    draw(d.name, bold, 10, yTop - 9 * MM);
    const eui = d.devEui.toUpperCase();
    draw(eui.slice(0, 8), font, 9, yTop - 15 * MM);
    draw(eui.slice(8), font, 9, yTop - 19 * MM);
    if (d.site) draw(d.site, font, 7, yTop - 25 * MM);
  });
  // The device list in the document's keywords: a reader (and the test) can tell which labels
  // the sheet holds without rendering it.
  pdf.setKeywords(devices.map((d) => d.devEui.toLowerCase()));
  return pdf.save();
}
