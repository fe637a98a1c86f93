/* WinNT.h - the same as <winnt.h>: Windows file names are case-insensitive, Linux ones are not,
 * and published sources spell it this way. */
#include "winnt.h"
