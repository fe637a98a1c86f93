/* Sddl.h - the same as <sddl.h> (Windows file names are case-insensitive). */
#include "sddl.h"
