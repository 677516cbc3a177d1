import { open, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A new or renamed file is durable only once its directory entry is. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces a file atomically: temp file, fsync, rename, fsync the directory. */
export async function writeFileAtomic(path: string, contents: string): Promise<void> {
  const temp = `${path}.tmp`;
  await writeFile(temp, contents);
  const handle = await open(temp, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  await fsyncDirectory(dirname(path));
}
