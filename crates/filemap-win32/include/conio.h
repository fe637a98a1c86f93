/* conio.h - console keyboard input (exported by libfilemap_win32).
 * _getch reads one key from standard input (without waiting for Enter and without echo on a
 * terminal; the next byte of a pipe or file otherwise); Enter reads as '\r' as on Windows;
 * EOF (-1) at end of input. Pending stdout output is flushed first. */
#ifndef FILEMAP_CONIO_H
#define FILEMAP_CONIO_H

#ifdef __cplusplus
extern "C" {
#endif

int _getch(void);
int _getche(void);
int getch(void);
int _kbhit(void);
int _putch(int c);

#ifdef __cplusplus
}
#endif

#define kbhit _kbhit
#define getche _getche
#define putch _putch

#endif /* FILEMAP_CONIO_H */
