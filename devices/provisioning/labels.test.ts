/**
 * Labels: every QR code decodes (jsQR) back to its TR005 string — from the SVG as drawn, and from
 * the PDF as a printer sees it (rendered by poppler's pdftoppm) — and the sheet has one label
 * per device.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { PDFDocument } from 'pdf-lib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { labelSheetPdf, labelSvg, SHEET, type LabelDevice } from './labels.ts';
import { parseScan, tr005String } from './tr005.ts';

// jsqr is CommonJS with an `exports.default`: take the function whichever way the loader hands it over.
type JsQr = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR: JsQr = ((jsQRModule as unknown as { default?: JsQr }).default ?? jsQRModule) as JsQr;

function devices(n: number): LabelDevice[] {
  return Array.from({ length: n }, (_, i) => {
    const devEui = `a84041000000${(0x100 + i).toString(16).padStart(4, '0')}`;
    return { name: `bin-élan-${i + 1}`, devEui, site: `Rue ${i + 1}, Cabestany`, qr: tr005String({ joinEui: '70b3d57ed0000001', devEui, profileId: 'A8400001' }) };
  });
}

/** Rasterizes the SVG's module rects (what labelSvg draws) and decodes the QR code in it. */
function decodeSvg(svg: string): string | undefined {
  const w = Number(/width="(\d+)"/.exec(svg)?.[1]);
  const h = Number(/height="(\d+)"/.exec(svg)?.[1]);
  const px = new Uint8ClampedArray(w * h * 4).fill(255);
  for (const m of svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"\/>/g)) {
    const [x, y, rw, rh] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    for (let yy = y; yy < y + rh; yy++) for (let xx = x; xx < x + rw; xx++) px.fill(0, (yy * w + xx) * 4, (yy * w + xx) * 4 + 3);
  }
  return jsQR(px, w, h)?.data;
}

describe('labels', () => {
  it('each SVG holds a QR code that decodes to the TR005 string, which parses back', () => {
    for (const d of devices(5)) {
      const svg = labelSvg(d);
      expect(decodeSvg(svg)).toBe(d.qr);
      const scanned = parseScan(d.qr);
      expect(scanned.devEui).toBe(d.devEui);
      expect(scanned.profileId).toBe('A8400001');
    }
  });

  it('the PDF sheet opens, has one label per device over pages of 21, and every code decodes', async () => {
    const list = devices(23);
    const bytes = await labelSheetPdf(list);
    const doc = await PDFDocument.load(bytes);
    expect(doc.getPageCount()).toBe(2);
    expect(doc.getKeywords()?.split(' ')).toEqual(list.map((d) => d.devEui));
    const dir = mkdtempSync(join(tmpdir(), 'labels-'));
    try {
      writeFileSync(join(dir, 'sheet.pdf'), bytes);
      execFileSync('pdftoppm', ['-r', '200', '-png', join(dir, 'sheet.pdf'), join(dir, 'page')]);
      const decoded: string[] = [];
      const scale = 200 / 72;
      for (const [pageNo, file] of ['page-1.png', 'page-2.png'].entries()) {
        const png = PNG.sync.read(readFileSync(join(dir, file)));
        const marginX = (595.28 - SHEET.cols * SHEET.labelW) / 2;
        const marginY = (841.89 - SHEET.rows * SHEET.labelH) / 2;
        for (let slot = 0; slot < SHEET.cols * SHEET.rows; slot++) {
          if (pageNo * 21 + slot >= list.length) break;
          // Crop the label's left square (the QR code and its margin) and decode it alone.
          const x0 = Math.round((marginX + (slot % SHEET.cols) * SHEET.labelW) * scale);
          const y0 = Math.round((marginY + Math.floor(slot / SHEET.cols) * SHEET.labelH) * scale);
          const side = Math.round(SHEET.labelH * scale);
          const crop = new Uint8ClampedArray(side * side * 4);
          for (let y = 0; y < side; y++) {
            const from = ((y0 + y) * png.width + x0) * 4;
            crop.set(png.data.subarray(from, from + side * 4), y * side * 4);
          }
          decoded.push(jsQR(crop, side, side)?.data ?? '(none)');
        }
      }
      expect(decoded).toEqual(list.map((d) => d.qr));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
