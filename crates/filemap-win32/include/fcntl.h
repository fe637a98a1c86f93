/* fcntl.h - the system's <fcntl.h> plus MSVC's _O_* translation modes (filemap-win32). */
#pragma GCC system_header
#include_next <fcntl.h>
#ifndef FILEMAP_FCNTL_H
#define FILEMAP_FCNTL_H

#define _O_TEXT 0x4000
#define _O_BINARY 0x8000
#define _O_WTEXT 0x10000
#define _O_U16TEXT 0x20000
#define _O_U8TEXT 0x40000
#define _O_RAW _O_BINARY
#define O_TEXT _O_TEXT
#define O_BINARY _O_BINARY
#define _O_RDONLY O_RDONLY
#define _O_WRONLY O_WRONLY
#define _O_RDWR O_RDWR
#define _O_CREAT O_CREAT
#define _O_TRUNC O_TRUNC
#define _O_EXCL O_EXCL
#define _O_APPEND O_APPEND

#endif /* FILEMAP_FCNTL_H */
