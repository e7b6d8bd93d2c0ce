#ifndef COFFER_SET_H
#define COFFER_SET_H
#endif
