/* io.h - the MSVC low-level I/O names console programs use (filemap-win32): _setmode (text
 * modes are accepted and change nothing: wide console output is always written as UTF-8, see
 * the crate README), _fileno, _isatty, _access, _unlink, _close, _read, _write, _dup, _dup2. */
#ifndef FILEMAP_IO_H
#define FILEMAP_IO_H

#include <stdio.h>
#include <unistd.h>
#include "fcntl.h"

static inline __attribute__((unused)) int _setmode(int fd, int mode)
{
    (void)mode;
    return fd < 0 ? -1 : _O_TEXT;
}
#define _fileno fileno
#define _isatty isatty
#define _access access
#define _unlink unlink
#define _close close
#define _read read
#define _write write
#define _dup dup
#define _dup2 dup2
#define _lseek lseek

#endif /* FILEMAP_IO_H */
