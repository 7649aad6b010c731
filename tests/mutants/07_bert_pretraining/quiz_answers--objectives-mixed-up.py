# loses: test_q1, test_q2
answer_q1 = "d"
answer_q2 = "c"
answer_q3 = "c"
answer_q4 = "d"
answer_q5 = "b"
answer_q6 = 30
answer_q7 = 4
answer_q8 = "b"
