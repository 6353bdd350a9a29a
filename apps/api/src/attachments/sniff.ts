import { fileTypeFromBuffer } from 'file-type';

/** Bytes of a file's beginning the type is decided on (file-type needs at most 4100). */
export const SNIFF_BYTES = 8192;

export const OCTET_STREAM = 'application/octet-stream';

/** What the bytes are. */
export interface SniffedType {
  mime: string;
  /**
   * A binary STL is known by its size only (84 + 50 bytes per triangle, the count at offset 80):
   * the size the whole file must have, checked once it has been read.
   */
  expectedSize?: number;
}

const DICOM_MAGIC = Buffer.from('DICM');
const OBJ_KEYWORDS =
  /^(?:#.*|v|vt|vn|vp|f|l|p|o|g|s|mtllib|usemtl|cstype|deg|curv|surf|parm|end|bmat|step|mg|lod)(?:\s.*)?$/;

function isText(head: Buffer): boolean {
  for (const b of head) {
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c)) return false;
  }
  return true;
}

/** Lines of the head, without the last one when the head ends mid-line (it may be cut). */
function completeLines(head: Buffer, whole: boolean): string[] {
  const lines = head.toString('latin1').split(/\r?\n/);
  if (!whole) lines.pop();
  return lines.map((l) => l.trim()).filter((l) => l !== '');
}

function isAsciiStl(head: Buffer, whole: boolean): boolean {
  if (!isText(head)) return false;
  const lines = completeLines(head, whole);
  if (!/^solid(\s|$)/i.test(lines[0] ?? '')) return false;
  // "solid" alone is not enough: binary STL headers often start with it too.
  return lines.slice(1).some((l) => /^(facet|endsolid)(\s|$)/i.test(l));
}

function binaryStlSize(head: Buffer): number | undefined {
  if (head.length < 84) return undefined;
  const triangles = head.readUInt32LE(80);
  return triangles > 0 ? 84 + triangles * 50 : undefined;
}

function isPly(head: Buffer): boolean {
  return /^ply\r?\nformat (ascii|binary_little_endian|binary_big_endian) 1\.0/.test(
    head.subarray(0, 64).toString('latin1'),
  );
}

function isObj(head: Buffer, whole: boolean): boolean {
  if (!isText(head)) return false;
  const lines = completeLines(head, whole);
  return lines.some((l) => /^v\s+-?[\d.]/.test(l)) && lines.every((l) => OBJ_KEYWORDS.test(l));
}

/**
 * The content type of a file from its first bytes (`head`; `whole` when that
 * is the entire file): `file-type`'s signatures, then the formats it does not
 * know — DICOM (`DICM` at 128), PLY, ASCII STL, OBJ, and binary STL (provisional:
 * `expectedSize` must match the file's size). The client's filename and
 * Content-Type play no part: a `.stl` that is a PDF is a PDF.
 */
export async function sniffType(head: Buffer, whole: boolean): Promise<SniffedType> {
  if (head.length >= 132 && head.subarray(128, 132).equals(DICOM_MAGIC)) {
    return { mime: 'application/dicom' };
  }
  const found = await fileTypeFromBuffer(head);
  // file-type calls anything starting with "solid" an STL: that is decided here instead.
  if (found && found.mime !== 'model/stl') return { mime: found.mime };
  if (isPly(head)) return { mime: 'model/ply' };
  if (isAsciiStl(head, whole)) return { mime: 'model/stl' };
  if (isObj(head, whole)) return { mime: 'model/obj' };
  const stlSize = binaryStlSize(head);
  if (stlSize !== undefined && !isText(head.subarray(84))) {
    return { mime: 'model/stl', expectedSize: stlSize };
  }
  return { mime: OCTET_STREAM };
}

/** The kind a file is filed under when the upload names none. */
export function defaultKind(mime: string): 'scan' | 'photo' | 'document' | 'other' {
  if (mime.startsWith('model/') || mime === 'application/dicom') return 'scan';
  if (mime.startsWith('image/')) return 'photo';
  if (mime === 'application/pdf') return 'document';
  return 'other';
}

/** The content type a filename's extension claims, for the extensions of the allowed kinds of file. */
const EXTENSION_TYPES: Record<string, string> = {
  stl: 'model/stl',
  obj: 'model/obj',
  ply: 'model/ply',
  dcm: 'application/dicom',
  dicom: 'application/dicom',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  pdf: 'application/pdf',
};

/**
 * Whether the bytes contradict the name: a `.stl` that is a PDF is refused
 * (a disguised file), whatever the allowed types. A name without one of
 * these extensions claims nothing.
 */
export function contradictsName(filename: string, mime: string): boolean {
  const ext = /\.([A-Za-z0-9]{1,10})$/.exec(filename)?.[1]?.toLowerCase();
  const claimed = ext ? EXTENSION_TYPES[ext] : undefined;
  return claimed !== undefined && claimed !== mime;
}
