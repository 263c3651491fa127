"""Shared building blocks of the PronIELTS DAGs: the stage catalog and the stage pod factory."""
