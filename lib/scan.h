#ifndef COFFER_SCAN_H
#define COFFER_SCAN_H
#endif
