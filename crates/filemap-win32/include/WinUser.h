/* WinUser.h - the same as <winuser.h>: Windows file names are case-insensitive, Linux ones are not,
 * and published sources spell it this way. */
#include "winuser.h"
