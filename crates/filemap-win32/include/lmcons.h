/* lmcons.h - LAN Manager name lengths used with GetUserName/GetComputerName (filemap-win32). */
#ifndef FILEMAP_LMCONS_H
#define FILEMAP_LMCONS_H

#define UNLEN 256
#define GNLEN UNLEN
#define PWLEN 256
#define CNLEN 15
#define DNLEN CNLEN
#define LM20_UNLEN 20

#endif /* FILEMAP_LMCONS_H */
