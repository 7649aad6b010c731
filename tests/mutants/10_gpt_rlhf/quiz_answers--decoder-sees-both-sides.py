# loses: test_q1, test_q2, test_q4
answer_q1 = "a"
answer_q2 = "d"
answer_q3 = "b"
answer_q4 = 2
answer_q5 = 60
answer_q6 = "c"
answer_q7 = "c"
answer_q8 = "b"
